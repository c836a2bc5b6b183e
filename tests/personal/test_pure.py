"""Pure parts of the personal-mailbox feature: the forward wrapper (R9c) and the verdicts."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.vocab import MailClass
from services.classifier.received import default_classifier
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import forward_mime, is_sakspost_mail, original_of
from services.common.received import build_received
from services.ingest.personal.texts import sweep_report
from services.ingest.personal.verdict import Forward, LeaveAlone, judge_received
from tests.personal.conftest import sample

OWNER = "elin.tjessem@ha.kommune.no"
NOW = datetime(2026, 9, 7, 10, 0, tzinfo=UTC)


def test_the_forward_carries_the_original_byte_for_byte_and_sakspost_treats_it_as_the_mail(
    org: Organisation,
) -> None:
    # R9c: the citizen stays the sender; the wrapper is marked as Sakspost's own.
    original = sample("0020.eml", to=OWNER)
    wrapper = forward_mime(original, "Elin Tjessem", OWNER, "bygg@ha.kommune.no", "VS", "x", NOW)
    assert original_of(wrapper, org) == original
    assert is_sakspost_mail(wrapper) and not is_sakspost_mail(original)
    event = build_received(org, "bygg@ha.kommune.no", wrapper, "graph-id", NOW)
    cited = parse_mail(original)
    assert event.sender is not None and cited.sender is not None
    assert event.sender.address == cited.sender.address
    assert event.internet_message_id == cited.message_id


def test_an_outsider_cannot_pass_off_a_forward(org: Organisation) -> None:
    original = sample("0020.eml", to=OWNER)
    forged = forward_mime(original, "Mallory", "mallory@evil.example", "post@ha.kommune.no",
                          "VS", "x", NOW)  # fmt: skip
    assert original_of(forged, org) == forged


def test_official_mail_goes_to_the_suggested_sakspost_and_private_mail_stays(
    org: Organisation,
) -> None:
    classifier = default_classifier()
    application = parse_mail(sample("0020.eml", to=OWNER))
    verdict = judge_received(classifier.classify(application, OWNER, org), org)
    assert isinstance(verdict, Forward)
    assert verdict.address == org.departments[verdict.department].addresses[0]
    private = parse_mail(sample("0100.eml", to=OWNER))
    assert isinstance(judge_received(classifier.classify(private, OWNER, org), org), LeaveAlone)


def test_the_sweep_report_speaks_the_owners_language() -> None:
    # R16: nynorsk by default, bokmål and English by the staff member's language.
    found = [(MailClass.ARKIVVERDIG, "Søknad om frådeling")]
    assert "tenestepost" in sweep_report("nn", 10, found, False)[0]
    assert "tjenestepost" in sweep_report("nb", 10, found, False)[0]
    assert "official" in sweep_report("en", 10, found, False)[0]
    assert "Søknad om frådeling" in sweep_report("nn", 10, found, False)[1]
