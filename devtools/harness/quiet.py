"""Waiting until the pipeline has nothing left to do.

No event says "all work is finished" (a redelivery after an ack wait can still come), so this
polls what JetStream knows: every durable consumer of the given streams with nothing pending and
nothing awaiting acknowledgement, seen twice in a row `POLL_SECONDS` apart. Bounded in time.
It asks as admin, the only identity that may inspect every service's consumers.
"""

from __future__ import annotations

import asyncio
import time

from nats.js import JetStreamContext

from devtools.harness.connect import connect_as
from services.common.jetstream import EVENTS_STREAM
from services.common.settings import Settings
from services.ingest.work import WORK_STREAM

POLL_SECONDS = 0.5
WORK_STREAMS = (EVENTS_STREAM, WORK_STREAM)


async def _busy(js: JetStreamContext, streams: tuple[str, ...]) -> list[str]:
    busy = []
    for stream in streams:
        for info in await js.consumers_info(stream):
            if info.num_pending or info.num_ack_pending:
                busy.append(f"{stream}/{info.name}")
    return busy


async def wait_quiet(
    settings: Settings, within_seconds: float, streams: tuple[str, ...] = WORK_STREAMS
) -> None:
    """Return once every consumer of `streams` is idle twice in a row; TimeoutError otherwise."""
    deadline = time.monotonic() + within_seconds
    connection = await connect_as(settings, "admin", "sakspost-harness-quiet", reconnecting=True)
    try:
        js = connection.jetstream()
        idle_before = False
        busy: list[str] = []
        while time.monotonic() < deadline:
            busy = await _busy(js, streams)
            if not busy and idle_before:
                return
            idle_before = not busy
            await asyncio.sleep(POLL_SECONDS)
        raise TimeoutError(f"still busy after {within_seconds:.0f} s: {busy}")
    finally:
        await connection.close()
