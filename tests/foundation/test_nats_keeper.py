"""`sakspost up` starts a nats-server node that dies again, on its own store and with the same
passwords; it leaves alone a node held down on purpose, and gives up on one that keeps dying."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext

from sakspost.natskeeper import NatsKeeper
from services.common.connect import connect_login
from services.common.jetstream import EVENTS_STREAM
from services.common.natsserver import NatsServer

WITHIN = 60.0


class Said:
    """What the keeper said (in English), to wait on line by line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self._changed.set()

    def count(self, words: str) -> int:
        return sum(words in line for line in self.lines)

    async def wait_until(self, words: str, times: int = 1) -> None:
        async def said() -> None:
            while self.count(words) < times:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(said(), WITHIN)


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAKSPOST_LANGUAGE", "en")


@contextlib.asynccontextmanager
async def keeping(server: NatsServer, limit: int = 5) -> AsyncIterator[tuple[NatsKeeper, Said]]:
    said = Said()
    keeper = NatsKeeper(server, said, limit, asyncio.Event())
    task = asyncio.create_task(keeper.keep())
    try:
        yield keeper, said
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _events_stream_is_there(server: NatsServer) -> None:
    connection = await connect_login(server.login("admin"), "test-keeper")
    try:
        js: JetStreamContext = connection.jetstream()
        assert (await js.stream_info(EVENTS_STREAM)).config.name == EVENTS_STREAM
    finally:
        await connection.close()


async def test_a_killed_node_is_started_again_on_its_store(nats_server: NatsServer) -> None:
    async with keeping(nats_server) as (keeper, said):
        nats_server.kill_node(0)
        await said.wait_until("started")

        assert said.lines[0] == "nats-server sakspost-1 stopped (code -9); restarting"
        assert keeper.restarts[0] == 1
        # Same store (provisioned before the crash), same passwords (admin's login still works).
        await _events_stream_is_there(nats_server)


async def test_a_node_held_down_is_left_to_whoever_holds_it(nats_server: NatsServer) -> None:
    async with keeping(nats_server) as (keeper, said):
        async with keeper.held_down([0]):
            nats_server.kill_node(0)
            await asyncio.to_thread(nats_server.start_node, 0)
        # Released and running: the keeper watches the new process, and only that one.
        nats_server.kill_node(0)
        await said.wait_until("started")

        assert said.count("restarting") == 1, said.lines
        await _events_stream_is_there(nats_server)


async def test_a_node_that_keeps_dying_is_given_up_on(nats_server: NatsServer) -> None:
    async with keeping(nats_server, limit=1) as (_, said):
        nats_server.kill_node(0)
        await said.wait_until("started")
        nats_server.kill_node(0)
        await said.wait_until("stopped 1 times")

        assert not nats_server.nodes[0].running
        assert said.count("restarting") == 1, said.lines
