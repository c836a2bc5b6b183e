"""Waiting until the pipeline has nothing left to do.

No event says "all work is finished" (a redelivery after an ack wait can still come), so this
polls what JetStream knows: every durable consumer of the given streams with nothing pending and
nothing awaiting acknowledgement, seen twice in a row `POLL_SECONDS` apart. Bounded in time.
"""

from __future__ import annotations

import asyncio
import time

import nats

from services.common.jetstream import EVENTS_STREAM
from services.ingest.work import WORK_STREAM

POLL_SECONDS = 0.5
WORK_STREAMS = (EVENTS_STREAM, WORK_STREAM)


async def _busy(nats_url: str, streams: tuple[str, ...]) -> list[str]:
    connection = await nats.connect(nats_url, name="sakspost-harness-quiet")
    try:
        js = connection.jetstream()
        busy = []
        for stream in streams:
            for info in await js.consumers_info(stream):
                if info.num_pending or info.num_ack_pending:
                    busy.append(f"{stream}/{info.name}")
        return busy
    finally:
        await connection.close()


async def wait_quiet(
    nats_url: str, within_seconds: float, streams: tuple[str, ...] = WORK_STREAMS
) -> None:
    """Return once every consumer of `streams` is idle twice in a row; TimeoutError otherwise."""
    deadline = time.monotonic() + within_seconds
    idle_before = False
    busy: list[str] = []
    while time.monotonic() < deadline:
        busy = await _busy(nats_url, streams)
        if not busy and idle_before:
            return
        idle_before = not busy
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError(f"still busy after {within_seconds:.0f} s: {busy}")
