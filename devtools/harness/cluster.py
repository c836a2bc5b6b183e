"""What a JetStream cluster says about itself around a node loss: which Raft groups the node led,
when each of them had a new leader, and when the node, restarted, was current again.

A stream without a leader acknowledges no publish, a consumer without one delivers nothing, and
without a meta leader no consumer can be created (every Object Store read creates one): the
cluster serves again once each group the lost node led has elected another. JetStream stamps each
stream and consumer leader's election (`leader_since`, the server's clock); the meta group has no
such stamp, so its leader is watched on a surviving node's monitoring endpoint (`/jsz`). A
restarted node is current again when its `/healthz` answers 200: it knows the meta leader and
every stream and consumer replica it holds has caught up (what the NATS Helm chart's startup
probe waits for). Streams and consumers are asked as admin, the only identity that may inspect
them all; the monitoring endpoints listen on loopback only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import api

# How often a group without a leader, or a node not yet current, is asked again.
POLL_SECONDS = 0.1
META = "$meta"


@dataclass(frozen=True)
class Group:
    """A Raft group: a stream, a durable consumer of a stream, or the meta group."""

    stream: str
    consumer: str = ""


META_GROUP = Group(META)
# A leader and when it was elected (epoch seconds), or nothing while there is none.
Leadership = tuple[str, float] | None


def _leadership(cluster: api.ClusterInfo | None) -> Leadership:
    if cluster is None or not cluster.leader or cluster.leader_since is None:
        return None
    return cluster.leader, cluster.leader_since.timestamp()


async def _meta_leader(http: httpx.AsyncClient, monitor_url: str) -> Leadership:
    """The meta leader a node knows of, stamped with the time it was seen (there is no other)."""
    leader = (await http.get(f"{monitor_url}/jsz")).json().get("meta_cluster", {}).get("leader")
    return (leader, time.time()) if leader else None


@dataclass
class ClusterWatch:
    """Asks the cluster over `connection` (admin's, to nodes that stay up), each question bounded
    by `request_seconds`, and the monitoring endpoint `monitor_url` of one of those nodes."""

    connection: Client
    http: httpx.AsyncClient
    monitor_url: str
    request_seconds: float

    def _ask(self, group: Group) -> Callable[[], Awaitable[Leadership]]:
        js = self.connection.jetstream(timeout=self.request_seconds)

        async def ask() -> Leadership:
            if group == META_GROUP:
                return await _meta_leader(self.http, self.monitor_url)
            if group.consumer:
                return _leadership((await js.consumer_info(group.stream, group.consumer)).cluster)
            return _leadership((await js.stream_info(group.stream)).cluster)

        return ask

    async def _leader(self, group: Group, accept: Callable[[str], bool]) -> tuple[str, float]:
        """The group's first leader that `accept`s, asked again until there is one."""
        ask = self._ask(group)
        while True:
            try:
                leadership = await ask()
            except (NatsError, httpx.HTTPError):
                leadership = None  # no leader to answer yet, or the answer was late
            if leadership is not None and accept(leadership[0]):
                return leadership
            await asyncio.sleep(POLL_SECONDS)  # an election has no event to wait on here

    async def _all(
        self, groups: list[Group], accept: Callable[[str], bool], within: float
    ) -> list[tuple[str, float]]:
        try:
            return await asyncio.wait_for(
                asyncio.gather(*(self._leader(group, accept) for group in groups)), within
            )
        except TimeoutError:
            raise TimeoutError(f"groups without a leader after {within:.0f} s") from None

    async def leaders(self, within_seconds: float) -> dict[Group, str]:
        """Every group's leader now: the meta group, each stream, each durable consumer.

        Ephemeral consumers (ordered readers of a bucket, a tool's event reader) are left out:
        their owners create them again elsewhere when their node is gone."""
        js = self.connection.jetstream()
        groups = [META_GROUP]
        for stream in await js.streams_info():
            name = str(stream.config.name)
            groups.append(Group(name))
            groups += [
                Group(name, consumer.name)
                for consumer in await js.consumers_info(name)
                if consumer.config.durable_name
            ]
        found = await self._all(groups, lambda _: True, within_seconds)
        return {group: leader for group, (leader, _) in zip(groups, found, strict=True)}

    async def elected(self, groups: list[Group], lost: str, within_seconds: float) -> float:
        """When the last of `groups` (at least one) had a leader other than node `lost` (epoch
        seconds)."""
        found = await self._all(groups, lambda leader: leader != lost, within_seconds)
        return max(since for _, since in found)


async def current(http: httpx.AsyncClient, monitor_url: str, within_seconds: float) -> float:
    """When the node's `/healthz` first answered 200 (epoch seconds)."""
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        try:
            if (await http.get(f"{monitor_url}/healthz")).status_code == 200:
                return time.time()
        except httpx.HTTPError:
            pass  # still starting
        await asyncio.sleep(POLL_SECONDS)  # catching up has no event to wait on here
    raise TimeoutError(f"{monitor_url} not current within {within_seconds:.0f} s")
