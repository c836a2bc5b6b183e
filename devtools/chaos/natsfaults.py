"""NATS faults: every node crashes at once, or one node of a cluster is lost while mail flows.

A lost node is killed with SIGKILL, kept down for a while and started again on its own store;
what that cost is taken from JetStream itself (`harness/cluster.py`): how long until every group
the node led had a new leader (the cluster serves again), and how long the restarted node took
to be current again. Either fault ends only once every node is current again (or its bound
passed, which is reported), so the next one, or the end of the run, meets a whole cluster.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from devtools.harness.cluster import ClusterWatch, current
from devtools.harness.connect import connect_as
from devtools.harness.stack import LocalStack

# Generous bounds: an election takes seconds, catching up after a long outage a little longer.
ELECTION_SECONDS = 120.0
CATCH_UP_SECONDS = 300.0
# One answer from a node; a group without a leader gives none, and is asked again.
REQUEST_SECONDS = 0.5


@dataclass(frozen=True)
class NodeLoss:
    """One node loss; times are epoch seconds, None when it did not happen within its bound."""

    node: str
    groups_led: int  # Raft groups (meta, streams, durable consumers) the node led when killed
    killed: float
    serving: float | None  # the last of those groups had a new leader
    restarted: float  # the node listened again
    current: float | None  # its /healthz answered 200

    def problems(self) -> list[str]:
        found = []
        if self.serving is None:
            found.append(f"{self.node} killed: no new leaders within {ELECTION_SECONDS:.0f} s")
        if self.current is None:
            found.append(f"{self.node} restarted: not current within {CATCH_UP_SECONDS:.0f} s")
        return found


def _within(measure: Coroutine[Any, Any, float]) -> asyncio.Task[float | None]:
    """The measure running; None in place of its TimeoutError."""

    async def bounded() -> float | None:
        try:
            return await measure
        except TimeoutError:
            return None

    return asyncio.create_task(bounded())


async def crash_nats(stack: LocalStack, down_seconds: float) -> list[str]:
    """Every node killed, down `down_seconds`, started again; the nodes not current in time."""
    await stack.restart_nats(down_seconds)
    assert stack.nats_server is not None
    # A single node has no monitoring port: it serves once it listens.
    urls = [node.monitor_url for node in stack.nats_server.nodes if node.monitor_url]
    async with httpx.AsyncClient(trust_env=False, timeout=REQUEST_SECONDS) as http:
        caught_up = await asyncio.gather(
            *(_within(current(http, u, CATCH_UP_SECONDS)) for u in urls)
        )
    return [
        f"{url} restarted: not current within {CATCH_UP_SECONDS:.0f} s"
        for url, at in zip(urls, caught_up, strict=True)
        if at is None
    ]


async def lose_node(stack: LocalStack, node: str, down_seconds: float) -> NodeLoss:
    """Kill `node`, keep it down `down_seconds`, start it again, and wait until it is current."""
    assert stack.nats_server is not None
    survivors = [n for n in stack.nats_server.nodes if n.config.name != node]
    monitor_url = survivors[0].monitor_url
    assert monitor_url is not None, "a cluster's nodes have monitoring ports"
    # Asked through the nodes that stay up, so the answers do not wait for a reconnect.
    settings = stack.settings().model_copy(update={"nats_url": ",".join(n.url for n in survivors)})
    connection = await connect_as(settings, "admin", "sakspost-chaos-cluster", reconnecting=True)
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=REQUEST_SECONDS) as http:
            watch = ClusterWatch(connection, http, monitor_url, REQUEST_SECONDS)
            leaders = await watch.leaders(ELECTION_SECONDS)
            led = [group for group, leader in leaders.items() if leader == node]
            async with stack.nats_node_down(node) as down:
                killed = time.time()
                # Nothing to elect when it led nothing: the cluster kept serving.
                election = _within(watch.elected(led, node, ELECTION_SECONDS)) if led else None
                await asyncio.sleep(down_seconds)  # the outage lasts this long
            restarted = time.time()
            serving = killed if election is None else await election
            assert down.monitor_url is not None
            caught_up = await _within(current(http, down.monitor_url, CATCH_UP_SECONDS))
    finally:
        await connection.close()
    return NodeLoss(node, len(led), killed, serving, restarted, caught_up)
