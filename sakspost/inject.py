"""`sakspost inject`: publish a `received` event for a mail file, as ingest would.

It stores the MIME in the Object Store first, so any stage after ingest can be exercised without
Graph. The Graph id is derived from the MIME bytes, so injecting the same file twice is the same
fact, and JetStream drops the repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.events import MailReceived, utc_now
from services.common.broker import make_broker
from services.common.mimestore import MimeStore, mime_sha256
from services.common.orgconfig import Organisation
from services.common.publisher import EventPublisher
from services.common.received import RECEIVED_CHANNEL, build_received
from services.common.seal import signing_keys
from services.common.settings import Settings


@dataclass(frozen=True)
class Injected:
    event: MailReceived
    duplicate: bool


async def inject_files(
    settings: Settings, org: Organisation, files: list[tuple[Path, str]]
) -> list[Injected]:
    """Inject each (file, mailbox address); returns the events with whether each was a repeat."""
    # It publishes what ingest publishes, so it logs in as ingest.
    broker = make_broker(settings, "ingest")
    await broker.connect()
    try:
        js = broker.config.connection_state.stream
        assert js is not None
        store = MimeStore(js)
        publisher = EventPublisher(broker, (RECEIVED_CHANNEL,))
        keys = signing_keys(settings)
        results = []
        for path, mailbox in files:
            raw = path.read_bytes()
            event = build_received(
                org,
                mailbox,
                raw,
                graph_message_id=f"inject-{mime_sha256(raw)[:32]}",
                received_at=utc_now(),
                keys=keys,
            )
            await store.put(raw)
            ack = await publisher.publish(event)
            results.append(Injected(event, bool(ack and ack.duplicate)))
        return results
    finally:
        await broker.stop()
