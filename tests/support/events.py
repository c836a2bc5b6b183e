"""Waiting for events on a real JetStream without sleeping: subscribe, then await what arrives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client
from nats.js import api

from services.common.connect import connect_once
from services.common.jetstream import EVENTS_STREAM
from services.common.settings import Settings


@dataclass
class EventLog:
    """Every event seen on a subject since the log was opened, with a way to await more."""

    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, subject: str, payload: dict[str, Any]) -> None:
        async with self._changed:
            self.seen.append((subject, payload))
            self._changed.notify_all()

    def matching(
        self, predicate: Callable[[str, dict[str, Any]], bool]
    ) -> list[tuple[str, dict[str, Any]]]:
        return [(s, p) for s, p in self.seen if predicate(s, p)]

    async def wait_for(
        self,
        predicate: Callable[[str, dict[str, Any]], bool],
        count: int = 1,
        timeout: float = 60.0,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Return once `count` events match; fail with what was seen when time is up (a bound
        for a stuck pipeline, not a speed check: a loaded machine may take long for one PDF)."""

        async def enough() -> list[tuple[str, dict[str, Any]]]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.matching(predicate)) >= count)
                return self.matching(predicate)

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            subjects = [s for s, _ in self.seen][-20:]
            raise AssertionError(
                f"expected {count} matching events within {timeout} s; "
                f"{len(self.matching(predicate))} matched; last subjects seen: {subjects}"
            ) from None

    async def wait_for_every_case(
        self,
        event_type: str,
        cases: set[str],
        timeout: float = 60.0,
        predicate: Callable[[dict[str, Any]], bool] = lambda _p: True,
    ) -> None:
        """Return once each of `cases` has an event of `event_type` (that satisfies `predicate`)."""

        def covered() -> bool:
            return cases <= {
                p.get("case_id")
                for _s, p in self.seen
                if p.get("type") == event_type and predicate(p)
            }

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(covered)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            seen = {p.get("case_id") for _s, p in self.seen if p.get("type") == event_type}
            raise AssertionError(
                f"{len(cases - seen)} of {len(cases)} cases have no {event_type} event "
                f"within {timeout} s"
            ) from None

    async def wait_for_case(
        self, case_id: str, event_type: str, count: int = 1, timeout: float = 10.0
    ) -> list[tuple[str, dict[str, Any]]]:
        return await self.wait_for(
            lambda _s, p: p.get("case_id") == case_id and p.get("type") == event_type,
            count,
            timeout,
        )


@asynccontextmanager
async def event_log(
    settings: Settings, subject: str = "sakspost.>", from_start: bool = True
) -> AsyncIterator[EventLog]:
    """Collect events on `subject` from the events stream (an ordered consumer) while open,
    as an integrator sees them."""
    connection: Client = await connect_once(settings, "integrator", "test-event-log")
    log = EventLog()

    async def on_message(message: Any) -> None:
        await log.add(message.subject, json.loads(message.data))

    js = connection.jetstream()
    policy = api.DeliverPolicy.ALL if from_start else api.DeliverPolicy.NEW
    subscription = await js.subscribe(
        subject, stream=EVENTS_STREAM, cb=on_message, ordered_consumer=True, deliver_policy=policy
    )
    try:
        yield log
    finally:
        await subscription.unsubscribe()
        await connection.close()
