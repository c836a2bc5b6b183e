"""What the pipeline published, as an integrator sees it: the events stream read from the start,
with the integrator's login (read-only on the mail, alert and notice events).

`EventRecorder` notes when each event arrived here (monotonic clock, the same one the mail
delivery stamps), so latencies are differences of two readings of one clock in one process.
It also keeps when the stream stored each event (the server's clock): that time does not move
when the recorder itself is held up, as it is while the cluster node serving it is down.
Callers wait on a condition over what arrived, never on a sleep.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from nats.js import api

from devtools.harness.connect import connect_as
from services.common.jetstream import EVENTS_STREAM
from services.common.settings import Settings


@dataclass(frozen=True)
class Seen:
    at: float
    subject: str
    payload: dict[str, Any]
    stored: float  # when the stream stored it: epoch seconds, from the server


@dataclass
class EventRecorder:
    seen: list[Seen] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, init=False)

    async def add(self, subject: str, data: bytes, stored: float) -> None:
        payload = json.loads(data)
        async with self._changed:
            self.seen.append(Seen(time.monotonic(), subject, payload, stored))
            self._changed.notify_all()

    def payloads(self) -> list[dict[str, Any]]:
        return [s.payload for s in self.seen]

    async def wait_until(
        self, done: Callable[[list[Seen]], bool], within_seconds: float, what: str
    ) -> None:
        """Return once `done(seen)` holds; fail naming `what` after `within_seconds`.

        `done` is asked after every event, so for thousands of events it should look only at
        what arrived since it was last asked (see `devtools.harness.progress`)."""

        async def holds() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: done(self.seen))

        try:
            await asyncio.wait_for(holds(), within_seconds)
        except TimeoutError:
            raise TimeoutError(f"{what}: not within {within_seconds:.0f} s") from None


@asynccontextmanager
async def record_events(
    settings: Settings, subject: str = "sakspost.>"
) -> AsyncIterator[EventRecorder]:
    """Record every event on `subject` from the start of the stream while open.

    The connection outlives a NATS restart (a fault-injection run makes them): it reconnects for
    as long as it takes, and the ordered consumer resumes after the last event it delivered."""
    connection = await connect_as(settings, "integrator", "sakspost-harness", reconnecting=True)
    recorder = EventRecorder()

    async def on_message(message: Any) -> None:
        await recorder.add(message.subject, message.data, message.metadata.timestamp.timestamp())

    subscription = await connection.jetstream().subscribe(
        subject,
        stream=EVENTS_STREAM,
        cb=on_message,
        ordered_consumer=True,
        deliver_policy=api.DeliverPolicy.ALL,
    )
    try:
        yield recorder
    finally:
        await subscription.unsubscribe()
        await connection.close()
