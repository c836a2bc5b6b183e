"""What JetStream says about one delivery: its consumer, attempt and stream position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg


@dataclass(frozen=True)
class Delivery:
    consumer: str
    attempt: int
    # The stream sequence: the same message keeps it across redeliveries and restarts.
    message_key: str
    # When the message was stored in its stream (the server's clock); None when unknown.
    stored_at: datetime | None = None

    def stored_age_s(self) -> float:
        if self.stored_at is None:
            return 0.0
        return (datetime.now(UTC) - self.stored_at).total_seconds()


def delivery_of(msg: Msg, consumer: str) -> Delivery:
    if msg.reply:
        metadata = msg.metadata
        return Delivery(
            consumer or metadata.consumer or "",
            metadata.num_delivered or 1,
            str(metadata.sequence.stream),
            metadata.timestamp,
        )
    # FastStream's in-memory test broker delivers without JetStream metadata.
    headers = msg.headers or {}
    return Delivery(consumer, 1, headers.get("Nats-Msg-Id") or headers.get("correlation_id", ""))
