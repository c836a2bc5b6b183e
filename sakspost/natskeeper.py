"""`sakspost up` keeps its nats-server nodes running: a node that dies is started again.

A node that crashed or was killed comes back on the same ports, configuration and store, with the
same passwords (every identity's credentials file stays valid). With `sync_interval: always` it
has everything it acknowledged; in a cluster it catches up from its peers and the cluster can
lose a node again. A single node's restart ends an outage of every service, which reconnect by
themselves. A node that keeps dying is given up on, as a component is.

A program that takes nodes down on purpose (a fault-injection run) holds them down meanwhile;
the keeper leaves a held node alone and starts watching it again when it is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from sakspost.texts import text
from services.common.natsserver import NatsServer, NatsServerError


def exit_code(process: subprocess.Popen[bytes]) -> asyncio.Future[int]:
    """Resolves with the process's exit code. A thread waits for it, as asyncio's own threaded
    child watcher does for the processes it starts: nats-server is started without asyncio."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()

    def resolve(code: int) -> None:
        if not future.done():
            future.set_result(code)

    def wait() -> None:
        code = process.wait()
        # The loop may have ended first (the stack stopped); nobody is waiting then.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(resolve, code)

    threading.Thread(target=wait, name=f"nats-server-{process.pid}", daemon=True).start()
    return future


@dataclass
class NatsKeeper:
    server: NatsServer
    say: Callable[[str], None]
    restart_limit: int
    stopping: asyncio.Event
    restarts: Counter[int] = field(default_factory=Counter)
    _held: set[int] = field(default_factory=set, init=False)
    _released: asyncio.Condition = field(default_factory=asyncio.Condition, init=False)

    async def keep(self) -> None:
        """Restart every node that dies, until cancelled or the stack stops."""
        await asyncio.gather(*(self._keep(index) for index in range(len(self.server.nodes))))

    async def _keep(self, index: int) -> None:
        node = self.server.nodes[index]
        name = f"nats-server {node.config.name}"
        while node.process is not None:
            code = await exit_code(node.process)
            async with self._released:
                await self._released.wait_for(lambda: index not in self._held)
            if self.stopping.is_set():
                return
            if node.running:
                continue  # whoever held it down has started it again
            if self.restarts[index] >= self.restart_limit:
                self.say(text("gave_up", name=name, count=self.restart_limit, log=node.log_file))
                return
            self.restarts[index] += 1
            self.say(text("restarting", name=name, code=code))
            try:
                await asyncio.to_thread(self.server.start_node, index)
            except NatsServerError:
                continue  # it died at start (its port still taken?): another restart, counted
            assert node.process is not None
            self.say(text("started", name=name, pid=node.process.pid, port=node.config.client_port))

    @contextlib.asynccontextmanager
    async def held_down(self, indexes: Iterable[int]) -> AsyncIterator[None]:
        """While open, the keeper does not restart these nodes: the caller stops and starts them."""
        held = set(indexes)
        self._held |= held
        try:
            yield
        finally:
            async with self._released:
                self._held -= held
                self._released.notify_all()
