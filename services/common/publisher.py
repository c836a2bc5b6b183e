"""Publishing events on JetStream, deduplicated by their deterministic event id."""

from __future__ import annotations

from faststream.nats import NatsBroker
from nats.js.api import PubAck

from schemas.events import Event
from services.common.jetstream import DEAD_LETTER_STREAM, EVENTS_STREAM

PUBLISH_TIMEOUT_SECONDS = 5.0


class EventPublisher:
    """Publishes through the FastStream broker, so trace context travels in the headers."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def publish(self, event: Event) -> PubAck:
        """Publish `event` on its subject; a repeat of the same fact is dropped by the server.

        The returned PubAck says `duplicate=True` when the stream already had this event id.
        """
        ack = await self._broker.publish(
            event.to_json(),
            event.nats_subject(),
            stream=EVENTS_STREAM,
            headers={"Nats-Msg-Id": event.event_id, "content-type": "application/json"},
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        assert isinstance(ack, PubAck)
        return ack

    async def publish_raw(self, subject: str, data: bytes, headers: dict[str, str]) -> PubAck:
        """Publish bytes to the dead-letter stream (the only raw publish Sakspost makes)."""
        ack = await self._broker.publish(
            data,
            subject,
            stream=DEAD_LETTER_STREAM,
            headers=headers,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        assert isinstance(ack, PubAck)
        return ack
