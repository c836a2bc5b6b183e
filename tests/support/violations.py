"""Seeing the server refuse an action: nats-server answers a denied publish or subscribe with a
permissions violation on the connection (no reply comes), which nats-py hands to `error_cb`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.js.errors import APIError

from services.common.connect import connect_login
from services.common.natsserver import NatsServer


@dataclass
class Violations:
    """The permissions violations reported on one connection."""

    seen: list[str] = field(default_factory=list)
    _reported: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def on_error(self, error: Exception) -> None:
        if "permissions violation" in str(error).lower():
            async with self._reported:
                self.seen.append(str(error))
                self._reported.notify_all()

    async def _beyond(self, count: int) -> str:
        async with self._reported:
            await self._reported.wait_for(lambda: len(self.seen) > count)
            return self.seen[count]

    async def refused(self, action: Awaitable[object], timeout: float = 10.0) -> str:
        """Start `action` and return the violation the server reports for it.

        A denied request gets no answer, so the action would wait for its own timeout: it is
        cancelled once the violation is in. Fails if the action completes first, or nothing
        is reported within `timeout`."""
        task = asyncio.ensure_future(action)
        violation = asyncio.ensure_future(self._beyond(len(self.seen)))
        done, _ = await asyncio.wait(
            {task, violation}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for pending in (task, violation):
            if not pending.done():
                pending.cancel()
        if violation in done:
            return violation.result()
        if task in done:
            raise AssertionError(f"the server did not refuse it: {task.result()!r}")
        raise AssertionError(f"no answer and no permissions violation within {timeout} s")

    async def outcome(self, connection: Client, action: Awaitable[object]) -> str:
        """`allowed`, or why the server refused `action`: `permission: …` (a violation on the
        connection) or `stream: …` (JetStream answered with an error)."""
        # A violation an earlier action caused arrives before the answer to this ping.
        await connection.flush()
        already = len(self.seen)
        task = asyncio.ensure_future(action)
        violation = asyncio.ensure_future(self._beyond(already))
        await asyncio.wait({task, violation}, return_when=asyncio.FIRST_COMPLETED)
        violation.cancel()
        if not task.done():
            task.cancel()
        elif task.exception() is None:
            # The server sends a violation before the answer to this ping: both are read now.
            await connection.flush()
        if len(self.seen) > already:
            return f"permission: {self.seen[already]}"
        error = task.exception() if task.done() and not task.cancelled() else None
        if isinstance(error, APIError):
            return f"stream: {error.description}"
        if error is not None:
            raise error
        return "allowed"


async def connect_watched(server: NatsServer, identity: str) -> tuple[Client, Violations]:
    """`identity`'s connection, with the violations the server reports on it."""
    violations = Violations()
    connection = await connect_login(
        server.login(identity), f"test-{identity}-watched", error_cb=violations.on_error
    )
    return connection, violations
