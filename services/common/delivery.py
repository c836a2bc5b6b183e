"""What JetStream says about one delivery: its consumer, attempt and stream position."""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.msg import Msg


@dataclass(frozen=True)
class Delivery:
    consumer: str
    attempt: int
    # The stream sequence: the same message keeps it across redeliveries and restarts.
    message_key: str


def delivery_of(msg: Msg, consumer: str) -> Delivery:
    if msg.reply:
        metadata = msg.metadata
        return Delivery(
            consumer or metadata.consumer or "",
            metadata.num_delivered or 1,
            str(metadata.sequence.stream),
        )
    # FastStream's in-memory test broker delivers without JetStream metadata.
    headers = msg.headers or {}
    return Delivery(consumer, 1, headers.get("Nats-Msg-Id") or headers.get("correlation_id", ""))
