"""Publishing events on JetStream through the publishers a service declares.

A service names each channel it publishes on with its payload model (`Channel`); FastStream turns
each into a declared publisher, which is what the service's AsyncAPI document is generated from.
Every event goes out through the declared publisher whose subject it matches, so a service cannot
publish anything its document does not show. Events are deduplicated by their deterministic event
id (`Nats-Msg-Id`), and the FastStream telemetry middleware adds W3C trace context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from faststream.nats import JStream, NatsBroker
from faststream.nats.publisher.usecase import LogicPublisher
from nats.js.api import PubAck

from schemas.events import Alert, ContractModel, Event
from services.common.jetstream import DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM, EVENTS_STREAM

PUBLISH_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Channel:
    """A subject a service publishes on (`{placeholders}` for its variable tokens) and its model."""

    subject: str
    model: type[ContractModel]
    description: str = ""
    stream: str = EVENTS_STREAM
    # Internal channels (the dead-letter copy of any message) stay out of the AsyncAPI document.
    documented: bool = True

    def matches(self, subject: str) -> bool:
        pattern = re.sub(r"\\\{[a-z_]+\\\}", r"[^.]+", re.escape(self.subject))
        return re.fullmatch(pattern, subject) is not None


class UndeclaredChannel(LookupError):
    """A service published on a subject it did not declare (a programming error)."""


class EventPublisher:
    def __init__(self, broker: NatsBroker, channels: Sequence[Channel]) -> None:
        self._declared: list[tuple[Channel, LogicPublisher]] = [
            (
                channel,
                broker.publisher(
                    channel.subject,
                    # Provisioning owns the streams: FastStream must not declare or change them.
                    stream=JStream(channel.stream, declare=False),
                    schema=channel.model,
                    title=channel.subject,
                    description=channel.description or (channel.model.__doc__ or "").strip(),
                    include_in_schema=channel.documented,
                ),
            )
            for channel in channels
        ]

    def _declared_for(self, subject: str) -> tuple[Channel, LogicPublisher]:
        for channel, publisher in self._declared:
            if channel.matches(subject):
                return channel, publisher
        raise UndeclaredChannel(f"{subject} is not among this service's declared channels")

    async def publish(self, event: Event) -> PubAck | None:
        """Publish `event` on its subject; a repeat of the same fact is dropped by the server.

        The PubAck says `duplicate=True` when the stream already had this event id (FastStream's
        in-memory test broker returns None).
        """
        subject = event.nats_subject()
        channel, publisher = self._declared_for(subject)
        ack = await publisher.publish(
            event.to_json(),
            subject=subject,
            stream=channel.stream,
            headers={"Nats-Msg-Id": event.event_id, "content-type": "application/json"},
            # FastStream's message id: the consumers' spans then carry the event id as
            # `messaging.message.id`, so an event leads to the spans that handled it.
            correlation_id=event.event_id,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        return ack if isinstance(ack, PubAck) else None

    async def publish_dead_letter(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        channel, publisher = self._declared_for(subject)
        await publisher.publish(
            data,
            subject=subject,
            stream=channel.stream,
            headers=headers,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )


DEAD_LETTER_CHANNEL = Channel(
    f"{DEAD_LETTER_PREFIX}.{{consumer}}",
    ContractModel,
    "A copy of a message the consumer gave up on, headers Sakspost-Reason and "
    "Sakspost-Original-Subject; each also raised a dead_letter alert",
    stream=DEAD_LETTER_STREAM,
    documented=False,
)
DEAD_LETTER_ALERT_CHANNEL = Channel(
    "sakspost.alert.dead_letter.{department}",
    Alert,
    "A message was given up on and copied to the dead-letter stream (R10)",
)
SKIPPED_ALERT_CHANNEL = Channel(
    "sakspost.alert.skipped.{department}",
    Alert,
    "One item of a periodic loop failed and was skipped; the rest went on (isolation.py)",
)
