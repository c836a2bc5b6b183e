"""Consumer deliveries that reach the client only after later JetStream replies.

The order in which nats-py's watches missed keys (services/common/kvread.py): the server has
pushed the messages, but the client handles replies to later requests (the consumer's info) first.
Holding the deliveries back makes that order certain in a test instead of rare."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nats.aio.client import Client

Message = tuple[int, bytes, bytes, bytes, bytes]  # sid, subject, reply, data, headers


@contextmanager
def deliveries_after_replies(connection: Client, replies: int = 2) -> Iterator[list[Message]]:
    """Every message a consumer delivers (its reply subject is an ack subject) reaches its
    subscription only after the client has handled `replies` other messages (JetStream API
    replies or statuses) since the first one was held. Yields every delivery held back, so a
    test can check that the order happened."""
    process = connection._process_msg
    held: list[Message] = []
    waiting: list[Message] = []
    others = 0

    async def reordered(
        sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes
    ) -> None:
        nonlocal others
        if reply.startswith(b"$JS.ACK."):
            held.append((sid, subject, reply, data, headers))
            waiting.append(held[-1])
            return
        await process(sid, subject, reply, data, headers)
        others = others + 1 if waiting else 0
        if others >= replies:
            while waiting:
                await process(*waiting.pop(0))
            others = 0

    connection._process_msg = reordered  # type: ignore[method-assign]
    try:
        yield held
    finally:
        connection._process_msg = process  # type: ignore[method-assign]
