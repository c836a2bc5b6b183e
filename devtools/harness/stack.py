"""The whole local stack (`sakspost up`'s `Stack`) under a program's control.

`sakspost up` is meant for people; a benchmark or a fault-injection run also needs to kill a
service as a crash would, restart NATS under the running services or kill one node of a cluster
and start it again later, stop and start the services around an outage, add a second replica of
each service, and give every child extra settings (short retry delays, a short ack wait).
Everything listens on free ports on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sakspost.components import SERVICE_NAMES, Component, Ports
from sakspost.stack import RESTART_LIMIT, Stack
from services.common.natsserver import ClusterPorts, NatsNode, free_port
from services.common.settings import DEFAULT_ORG_CONFIG

READY_SECONDS = 120.0


def free_ports(nats_nodes: int = 1) -> Ports:
    return Ports(
        nats=ClusterPorts.free(nats_nodes).client,
        graph_http=free_port(),
        graph_smtp=free_port(),
        graph_login=free_port(),
        websak_standin=free_port(),
        services={name: free_port() for name in SERVICE_NAMES},
    )


def _quiet(_line: str) -> None:
    """The stack's progress lines are for `sakspost up`'s user, not a benchmark's table."""


@dataclass
class LocalStack(Stack):
    """`Stack` with extra settings for every child and the controls a fault-injection run needs."""

    extra_env: dict[str, str] = field(default_factory=dict)
    _supervisor: asyncio.Task[None] | None = field(default=None, init=False)

    def child_env(self, component: Component) -> dict[str, str]:
        env = super().child_env(component)
        env.update(self.extra_env)
        # The component's own port must win over anything shared.
        env.update(component.env)
        return env

    @property
    def graph_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.graph_http}"

    @property
    def websak_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.websak_standin}"

    def service_names(self) -> list[str]:
        return [name for name, r in self.running.items() if r.component.is_service]

    def pids(self) -> dict[str, int]:
        return {name: r.process.pid for name, r in self.running.items()}

    async def boot(self) -> None:
        await self.start()
        missing = await self.wait_ready(READY_SECONDS)
        if missing:
            raise RuntimeError(f"not ready within {READY_SECONDS} s: {missing} ({self.data_dir})")
        self._supervisor = asyncio.create_task(self.supervise())

    async def _pause_supervision(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None

    def _resume_supervision(self) -> None:
        self._supervisor = asyncio.create_task(self.supervise())

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash or an OOM kill would; the supervisor restarts it."""
        with contextlib.suppress(ProcessLookupError):
            self.running[name].process.send_signal(signal.SIGKILL)

    def nats_node_names(self) -> list[str]:
        assert self.nats_server is not None
        return [node.config.name for node in self.nats_server.nodes]

    async def restart_nats(self, down_seconds: float) -> None:
        """Kill every nats-server node (a crash; `sync_interval: always` keeps what it
        acknowledged), start them again after `down_seconds` on the same ports, store and
        configuration, with the same passwords (every identity's credentials file stays valid);
        services reconnect by themselves."""
        assert self.nats_server is not None
        assert self.nats_keeper is not None
        async with self.nats_keeper.held_down(range(len(self.nats_server.nodes))):
            await asyncio.to_thread(self.nats_server.kill)
            await asyncio.sleep(down_seconds)  # the outage lasts this long
            await asyncio.to_thread(self.nats_server.restart)

    @asynccontextmanager
    async def nats_node_down(self, name: str) -> AsyncIterator[NatsNode]:
        """The node killed with SIGKILL while the block runs (the supervisor leaves it down),
        started again when it ends, on the same ports, store and passwords as in
        `restart_nats`."""
        assert self.nats_server is not None
        assert self.nats_keeper is not None
        index = self.nats_node_names().index(name)
        async with self.nats_keeper.held_down([index]):
            await asyncio.to_thread(self.nats_server.kill_node, index)
            try:
                yield self.nats_server.nodes[index]
            finally:
                await asyncio.to_thread(self.nats_server.start_node, index)

    async def stop_services(self) -> None:
        """Stop every service gracefully (an outage of Sakspost); the dev tools keep running."""
        await self._pause_supervision()
        for name in self.service_names():
            running = self.running.pop(name)
            with contextlib.suppress(ProcessLookupError):
                running.process.send_signal(signal.SIGTERM)
            await running.process.wait()
        self._write_state()

    async def start_services(self, replicas: int = 1, single: frozenset[str] = frozenset()) -> None:
        """Start every service again, `replicas` processes of each (extra ones on their own port)
        except those named in `single`."""
        for component in self.planned:
            if not component.is_service:
                continue
            await self._spawn(component)
            for number in range(2, 1 + (1 if component.name in single else replicas)):
                port = free_port()
                await self._spawn(
                    Component(
                        f"{component.name}-{number}",
                        component.module,
                        component.args,
                        port,
                        env={**component.env, "SAKSPOST_HTTP_PORT": str(port)},
                    )
                )
        self._write_state()
        missing = await self.wait_ready(READY_SECONDS)
        if missing:
            raise RuntimeError(f"not ready within {READY_SECONDS} s: {missing} ({self.data_dir})")
        self._resume_supervision()

    async def shutdown(self) -> None:
        await self._pause_supervision()
        await self.stop()


@asynccontextmanager
async def local_stack(
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    restart_limit: int = RESTART_LIMIT,
    nats_nodes: int = 1,
) -> AsyncIterator[LocalStack]:
    """The whole stack on free ports, ready, supervised; stopped (nothing left running) on exit.

    `data_dir` must be absolute: every child runs with it. `nats_nodes=3` runs NATS as a
    JetStream cluster with everything replicated three times, as `sakspost up --cluster 3`.
    """
    stack = LocalStack(
        data_dir=data_dir,
        ports=free_ports(nats_nodes),
        org_config=DEFAULT_ORG_CONFIG,
        say=_quiet,
        restart_limit=restart_limit,
        nats_nodes=nats_nodes,
        extra_env=dict(extra_env or {}),
    )
    try:
        await stack.boot()
        yield stack
    finally:
        await stack.shutdown()
