"""Issue 16, finding 2: the classifier never loads a mail over the parse cap whole; it judges its
header block (sender, recipients, subject), and its `classified` event is published as for any
mail."""

from __future__ import annotations

from faststream.nats import TestNatsBroker

from schemas.events import MailReceived, utc_now
from services.classifier.app import build
from services.classifier.worktasks import Shared
from services.common.failures import MemoryFailureCounter
from services.common.jetstream import EVENTS_STREAM
from services.common.orgconfig import Organisation
from services.common.received import build_received
from services.common.retry import FAILURES_KEY
from services.common.settings import Settings
from tests.classifier_service.test_handlers import MemoryThreads
from tests.conftest import SAMPLES
from tests.support.signing import TEST_KEYS


class PrefixOnlyMime:
    """Serves a mail's first bytes; reading it whole fails the test."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self.prefix_limits: list[int] = []

    async def get(self, digest: str) -> bytes:
        raise AssertionError("the classifier read a mail over the parse cap whole")

    async def get_prefix(self, digest: str, limit: int) -> bytes:
        self.prefix_limits.append(limit)
        return self._raw[:limit]


async def test_a_mail_over_the_parse_cap_is_judged_by_its_header_block(
    org: Organisation,
) -> None:  # finding 2
    raw = (SAMPLES / "0003.eml").read_bytes()
    received: MailReceived = build_received(
        org,
        "post@ha.kommune.no",
        raw,
        graph_message_id="g-0003",
        received_at=utc_now(),
        keys=TEST_KEYS,
    )
    settings = Settings(mime_parse_cap_bytes=len(raw) - 1, mime_header_cap_bytes=4096)
    service = build(settings, org)
    mime = PrefixOnlyMime(raw)
    service.put("mime", mime)
    service.put("threads", MemoryThreads())
    service.workers().share(Shared(org, TEST_KEYS, settings.mail_limits()))
    service.put(FAILURES_KEY, MemoryFailureCounter())
    spy = service.broker.subscriber("sakspost.mail.classified.*", stream=EVENTS_STREAM)(
        lambda event: None
    )
    async with TestNatsBroker(service.broker) as broker:
        await broker.publish(received, received.nats_subject(), stream=EVENTS_STREAM)
        ((classified,), _) = spy.mock.call_args
    assert mime.prefix_limits == [4096]
    assert classified["case_id"] == received.case_id
