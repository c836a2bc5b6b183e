"""Pure parts of the personal-mailbox feature: the forward wrapper (R9c) and the verdicts, and of
the outgoing checks on shared mailboxes (R14, R2, R3)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.events import MailSent
from schemas.vocab import AlertKind, MailClass
from services.classifier.outgoing import check_sent
from services.classifier.received import default_classifier
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import Marker, forward_mime, original_of, sakspost_marker
from services.common.received import build_received
from services.common.seal import SigningKeys
from services.ingest.config import IngestSettings
from services.ingest.personal.texts import sweep_report
from services.ingest.personal.verdict import Forward, ForwardPolicy, LeaveAlone, judge_received
from services.ingest.sent import build_sent
from services.ingest.snapshot import MessageSnapshot
from services.websak.config import WebSakConfigError, load_placement, parse_placement
from tests.personal.conftest import sample

OWNER = "elin.tjessem@ha.kommune.no"
NOW = datetime(2026, 9, 7, 10, 0, tzinfo=UTC)


def test_the_forward_carries_the_original_byte_for_byte_and_sakspost_treats_it_as_the_mail(
    org: Organisation, keys: SigningKeys
) -> None:
    # R9c: the citizen stays the sender; the wrapper is sealed as Sakspost's own.
    original = sample("0020.eml", to=OWNER)
    wrapper = forward_mime(
        original, "Elin Tjessem", OWNER, "bygg@ha.kommune.no", "VS", "x", NOW, keys
    )
    assert original_of(wrapper, org, keys, NOW) == original
    assert sakspost_marker(wrapper, org, keys, NOW) is Marker.SEALED
    assert sakspost_marker(original, org, keys, NOW) is Marker.NONE
    event = build_received(org, "bygg@ha.kommune.no", wrapper, "graph-id", NOW, keys=keys)
    cited = parse_mail(original)
    assert event.sender is not None and cited.sender is not None
    assert event.sender.address == cited.sender.address
    assert event.internet_message_id == cited.message_id


def test_an_outsider_cannot_pass_off_a_forward(org: Organisation, keys: SigningKeys) -> None:
    original = sample("0020.eml", to=OWNER)
    forged = forward_mime(original, "Mallory", "mallory@evil.example", "post@ha.kommune.no",
                          "VS", "x", NOW, keys)  # fmt: skip
    assert original_of(forged, org, keys, NOW) == forged


def test_official_mail_goes_to_the_suggested_sakspost_and_private_mail_stays(
    org: Organisation,
) -> None:
    classifier = default_classifier()
    policy = ForwardPolicy.from_rules(
        classifier.rules, IngestSettings().personal_forward_confidence
    )
    application = parse_mail(sample("0020.eml", to=OWNER))
    verdict = judge_received(classifier.classify(application, OWNER, org), org, policy)
    assert isinstance(verdict, Forward)
    assert verdict.address == org.departments[verdict.department].addresses[0]
    private = parse_mail(sample("0100.eml", to=OWNER))
    assert isinstance(
        judge_received(classifier.classify(private, OWNER, org), org, policy), LeaveAlone
    )


def test_the_sweep_report_speaks_the_owners_language() -> None:
    # R16: nynorsk by default, bokmål and English by the staff member's language.
    found = [(MailClass.ARKIVVERDIG, "Søknad om frådeling")]
    assert "tenestepost" in sweep_report("nn", 10, found, False)[0]
    assert "tjenestepost" in sweep_report("nb", 10, found, False)[0]
    assert "official" in sweep_report("en", 10, found, False)[0]
    assert "Søknad om frådeling" in sweep_report("nn", 10, found, False)[1]


def _sent(raw: bytes, org: Organisation, keys: SigningKeys) -> MailSent:
    snapshot = MessageSnapshot("graph-sent", None, None, "conv-1", NOW, None, [], None, False)
    event = build_sent(org, keys, "bygg", "bygg@ha.kommune.no", raw, snapshot)
    assert event is not None
    return event


def test_sent_mail_raises_the_outgoing_alerts_and_sakspost_mail_is_never_judged(
    org: Organisation, keys: SigningKeys
) -> None:
    # R14, R2, R3: the alerts name the kinds and the mailbox, never the content.
    raw = sample("0020.eml", to="citizen@example.org")
    event = _sent(raw, org, keys)
    classifier = default_classifier()
    quiet = check_sent(event, raw, org, keys, MailClass.OFFISIELL, classifier, NOW)
    assert [a.kind for a in quiet] == []
    loud = check_sent(event, raw, org, keys, MailClass.ARKIVVERDIG, classifier, NOW)
    assert [a.kind for a in loud] == [AlertKind.REPLY_NOT_FROM_WEBSAK]
    assert loud[0].case_ids == [event.case_id] and "bygg@ha.kommune.no" in loud[0].summary
    wrapper = forward_mime(raw, "Elin Tjessem", OWNER, "bygg@ha.kommune.no", "VS", "x", NOW, keys)
    assert build_sent(org, keys, "bygg", "bygg@ha.kommune.no", wrapper, MessageSnapshot(
        "g", None, None, "conv-1", NOW, None, [], None, False)) is None  # fmt: skip
    assert check_sent(event, wrapper, org, keys, MailClass.ARKIVVERDIG, classifier, NOW) == []


def test_an_outgoing_template_is_its_own_and_is_required_to_file_outgoing() -> None:
    placement = load_placement()
    assert placement.outgoing_template_ids().isdisjoint(placement.template_ids())
    outgoing = placement.placement("bygg", sensitive=False, outgoing=True)
    assert outgoing.template_ref == str(placement.outgoing_template)
    without = placement.model_copy(update={"outgoing_template": None})
    with pytest.raises(WebSakConfigError, match="outgoing_template"):
        without.placement("bygg", sensitive=False, outgoing=True)
    data = placement.model_dump() | {"outgoing_template": placement.journalpost_template}
    with pytest.raises(WebSakConfigError, match="both incoming and outgoing"):
        parse_placement(data, Path("websak.yaml"))
