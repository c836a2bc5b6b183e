"""The classifier's handlers on FastStream's in-memory broker, with its stores in memory: a received
mail becomes the classified event the offline classifier computes, and the thread remembers it."""

from __future__ import annotations

from faststream.nats import TestNatsBroker

from schemas.events import MailReceived, utc_now
from schemas.vocab import MailClass
from services.classifier.app import build
from services.classifier.received import classify_received
from services.classifier.worktasks import Shared
from services.common.failures import MemoryFailureCounter
from services.common.jetstream import EVENTS_STREAM
from services.common.mimestore import mime_sha256
from services.common.orgconfig import Organisation
from services.common.received import build_received
from services.common.retry import FAILURES_KEY
from services.common.settings import Settings
from tests.conftest import SAMPLES
from tests.support.signing import TEST_KEYS


class MemoryMime:
    def __init__(self, *mails: bytes) -> None:
        self._by_digest = {mime_sha256(raw): raw for raw in mails}

    async def get(self, digest: str) -> bytes:
        return self._by_digest[digest]


class MemoryThreads:
    def __init__(self) -> None:
        self.classes: dict[str | None, MailClass] = {}

    async def class_of(self, conversation_id: str | None) -> MailClass | None:
        return self.classes.get(conversation_id)

    async def remember(self, conversation_id: str | None, mail_class: MailClass) -> None:
        self.classes[conversation_id] = mail_class


async def test_a_received_mail_is_classified_and_remembered(org: Organisation) -> None:
    raw = (SAMPLES / "0003.eml").read_bytes()  # an application: arkivverdig
    received: MailReceived = build_received(
        org,
        "post@ha.kommune.no",
        raw,
        graph_message_id="g-0003",
        received_at=utc_now(),
        keys=TEST_KEYS,
    )
    service = build(Settings(), org)
    service.workers().share(Shared(org, TEST_KEYS, Settings().mail_limits()))
    service.put("mime", MemoryMime(raw))
    threads = MemoryThreads()
    service.put("threads", threads)
    service.put(FAILURES_KEY, MemoryFailureCounter())
    spy = service.broker.subscriber("sakspost.mail.classified.*", stream=EVENTS_STREAM)(
        lambda event: None
    )
    async with TestNatsBroker(service.broker) as broker:
        await broker.publish(received, received.nats_subject(), stream=EVENTS_STREAM)
        ((classified,), _) = spy.mock.call_args
    expected = classify_received(received, raw, org, TEST_KEYS)
    assert classified["event_id"] == expected.event_id
    assert classified["mail_class"] == expected.mail_class.value == "arkivverdig"
    assert threads.classes[received.conversation_id] == MailClass.ARKIVVERDIG
