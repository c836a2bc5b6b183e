"""The plan of a fault-injection run (pure): which fault, when, against what, for how long.

Seeded, so a run that found something can be repeated exactly (`--seed`). Faults come at random
intervals; each lasts a while and may overlap others, as real incidents do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    KILL_SERVICE = "kill_service"  # SIGKILL one service process; the supervisor restarts it
    RESTART_NATS = "restart_nats"  # kill nats-server, start it again on the same store
    GRAPH_THROTTLE = "graph_throttle"  # a mailbox answers part of its calls 429 + Retry-After
    GRAPH_ERROR = "graph_error"  # a mailbox answers part of its calls 503
    GRAPH_SLOW = "graph_slow"  # a mailbox answers slowly
    GRAPH_DROP = "graph_drop_notifications"  # a mailbox's notifications are lost (delta finds them)
    ARCHIVE_DOWN = "archive_down"  # WebSak answers 503
    ARCHIVE_FAIL = "archive_fail"  # WebSak's next requests answer 500
    FUZZ_WEBHOOK = "fuzz_webhook"  # malformed bodies POSTed to ingest's webhook
    FUZZ_MIME = "fuzz_mime"  # malformed mails delivered over SMTP
    LOSE_NATS_NODE = "lose_nats_node"  # SIGKILL one node of a cluster, start it again later


# How often each kind is drawn, relative to the others.
WEIGHTS = {
    FaultKind.KILL_SERVICE: 5,
    FaultKind.RESTART_NATS: 1,
    FaultKind.GRAPH_THROTTLE: 2,
    FaultKind.GRAPH_ERROR: 2,
    FaultKind.GRAPH_SLOW: 1,
    FaultKind.GRAPH_DROP: 1,
    FaultKind.ARCHIVE_DOWN: 2,
    FaultKind.ARCHIVE_FAIL: 1,
    FaultKind.FUZZ_WEBHOOK: 2,
    FaultKind.FUZZ_MIME: 2,
    # Last, so that a single node's plans (which leave it out) stay what they were for a seed.
    FaultKind.LOSE_NATS_NODE: 1,
}
# A lost node stays down this long: beyond the seconds an election takes, so the cluster also
# serves degraded for a while, and the node has something to catch up on.
NODE_DOWN_SECONDS = (10.0, 40.0)


@dataclass(frozen=True)
class Fault:
    at: float  # seconds from the start of the run
    kind: FaultKind
    target: str  # a service, a mailbox address, a NATS node, or "" when the kind has none
    seconds: float  # how long it lasts (kills and fuzz bursts: 0)
    size: int  # inputs in a fuzz burst; 0 otherwise


def plan(
    seed: int,
    duration: float,
    services: list[str],
    mailboxes: list[str],
    mean_gap: float,
    nats_nodes: tuple[str, ...] = (),
) -> list[Fault]:
    """Faults over `duration` seconds, on average `mean_gap` apart, the last ending in time.

    The first faults are one of each kind in random order, so that even a short run meets every
    kind; after that kinds are drawn by their weights. A node is lost only from a cluster (more
    than one of `nats_nodes`)."""
    rng = random.Random(seed)
    kinds = [k for k in WEIGHTS if len(nats_nodes) > 1 or k is not FaultKind.LOSE_NATS_NODE]
    each_once = rng.sample(kinds, len(kinds))
    faults = []
    at = rng.uniform(0.5, 1.5) * mean_gap
    while at < duration:
        if each_once:
            kind = each_once.pop()
        else:
            kind = rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
        target, seconds, size = "", 0.0, 0
        if kind is FaultKind.KILL_SERVICE:
            target = rng.choice(services)
        elif kind is FaultKind.RESTART_NATS:
            seconds = rng.uniform(1.0, 5.0)
        elif kind is FaultKind.LOSE_NATS_NODE:
            target = rng.choice(nats_nodes)
            seconds = rng.uniform(*NODE_DOWN_SECONDS)
        elif kind in (FaultKind.FUZZ_WEBHOOK, FaultKind.FUZZ_MIME):
            size = rng.randrange(5, 30) if kind is FaultKind.FUZZ_WEBHOOK else rng.randrange(1, 4)
        else:
            seconds = rng.uniform(5.0, 20.0)
            if kind.value.startswith("graph"):
                target = rng.choice(mailboxes)
        faults.append(
            Fault(round(at, 2), kind, target, round(min(seconds, duration - at), 2), size)
        )
        at += rng.expovariate(1 / mean_gap)
    return faults
