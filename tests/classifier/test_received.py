"""`classify_received`: the `classified` event the service publishes for a `received` one (R9)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from schemas.events import MailReceived
from schemas.identity import make_event_id
from schemas.vocab import MailClass, SensitiveKind
from services.classifier.received import classify_received, default_classifier
from services.common.orgconfig import Organisation
from services.common.seal import SigningKeys
from tests.conftest import SAMPLES


def received(
    raw: bytes, mailbox: str = "helse@ha.kommune.no", department: str = "helse"
) -> MailReceived:
    return MailReceived.build(
        case_id="case0000000000000001",
        department=department,
        mailbox=mailbox,
        internet_message_id="x@example.org",
        graph_message_id="graph-1",
        sender=None,
        received_at=datetime(2026, 2, 13, 14, 40, tzinfo=UTC),
        mime_sha256=hashlib.sha256(raw).hexdigest(),
        mime_size=len(raw),
    )


def test_classified_event_for_a_sample(org: Organisation, keys: SigningKeys) -> None:
    raw = (SAMPLES / "0010.eml").read_bytes()
    event = received(raw)
    before = datetime.now(UTC)
    classified = classify_received(event, raw, org, keys)
    assert classified.mail_class is MailClass.ARKIVVERDIG
    assert {SensitiveKind.FODSELSNUMMER, SensitiveKind.BARNEVERN} <= set(classified.sensitive)
    assert "bekymringsmelding" in classified.topics
    assert classified.department == event.department
    assert classified.case_id == event.case_id
    assert classified.suggested_department == "helse"
    engine = default_classifier()
    assert classified.rules_version == engine.rules.version
    # Every classified event names the model that took part (issue 18), and so does its id.
    assert engine.model is not None
    assert classified.model_version == engine.model.version
    assert f"model.{engine.model.version}" in classified.reasons
    assert classified.event_id == make_event_id("classified", event.case_id, engine.version)
    assert classified.occurred_at >= before
    assert classified.nats_subject() == "sakspost.mail.classified.helse"
    # The same fact gives the same event id (JetStream dedupe).
    assert classify_received(event, raw, org, keys).event_id == classified.event_id


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe binary garbage \x00", b"just one line"])
def test_unparseable_mail_goes_to_a_human(raw: bytes, org: Organisation, keys: SigningKeys) -> None:
    """Never `offisiell` because nothing could be read (issue #16, finding 8): kept, screened,
    and opened by a person of its department."""
    classified = classify_received(received(raw, "post@ha.kommune.no", "post"), raw, org, keys)
    assert classified.mail_class is MailClass.ARKIVVERDIG
    assert classified.confidence == 0.0
    assert classified.sensitive == [SensitiveKind.UNNTATT_OFFENTLIGHET]
    assert classified.reasons == ["quarantine.unparseable"]
    assert classified.department == "post"
    assert classified.suggested_department == "post"


def test_thread_context_reaches_the_rules(org: Organisation, keys: SigningKeys) -> None:
    raw = (
        b"From: a@epost.example\r\nTo: bygg@ha.kommune.no\r\nSubject: SV: sak 26/1\r\n"
        b"In-Reply-To: <v@ha.kommune.no>\r\n\r\n"
        b"Eg har eit par merknader til vilkara i vedtaket.\r\n"
    )
    event = received(raw, "bygg@ha.kommune.no", "bygg")
    assert (
        classify_received(event, raw, org, keys, MailClass.ARKIVVERDIG).mail_class
        is MailClass.ARKIVVERDIG
    )
