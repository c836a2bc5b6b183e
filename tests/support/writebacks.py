"""Waiting for the router's write-back to Outlook without sleeping: the router publishes each
write's change key in KV (for ingest, to know its own echo), so watching that key is the event."""

from __future__ import annotations

from nats.js import JetStreamContext

from services.common.jetstream import WRITEBACKS_BUCKET
from services.common.writeback import read_writeback, writeback_key


async def written_back(
    js: JetStreamContext, graph_message_id: str, previous: str | None, timeout: float
) -> str:
    """The change key of the router's next write to the message (one other than `previous`)."""
    kv = await js.key_value(WRITEBACKS_BUCKET)
    watcher = await kv.watch(writeback_key(graph_message_id))
    try:
        while True:
            # nats-py leaves its watcher untyped.
            entry = await watcher.updates(timeout=timeout)  # type: ignore[no-untyped-call]
            # A `pending` mark (a write under way) has no change key: the write is not done.
            value = read_writeback(entry.value if entry is not None else None, 0.0).change_key
            if value is not None and value != previous:
                return value
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]
