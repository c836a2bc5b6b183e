"""What losing a NATS node costs: `python -m devtools.bench.nodeloss [--rate 3] [--seed 1]`.

The whole stack on a three-node JetStream cluster (everything replicated three times) with the
production settings, mail at a steady rate: after a warm-up and a healthy phase one node, drawn
by the seed, is killed with SIGKILL, kept down, and started again on its own store; mail keeps
coming for a while after. Then the chaos invariants are checked (`devtools.chaos`). Measured:

- how long until every Raft group the node led had a new leader, i.e. the cluster acknowledged
  publishes and delivered to consumers again (JetStream's own election stamps), and the longest
  time no mail was routed across the loss, against the longest such gap while healthy;
- how long the restarted node took to be current again (its `/healthz`);
- latency from `received` to `routed` (the stream's own timestamps of the two events), and from
  SMTP's acceptance to `routed`, for mail that came while healthy, while the groups the node led
  elected new leaders, while the cluster served on two nodes, and after the restart; and the
  ratio of each to healthy.

Figures are for comparison within one run, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devtools.bench.stats import summary
from devtools.chaos.natsfaults import NodeLoss
from devtools.chaos.run import ChaosReport, run_faults, sample_mail
from devtools.chaos.schedule import Fault, FaultKind
from devtools.harness.events import Seen
from devtools.harness.stack import local_stack

NODES = 3
DEFAULT_RATE = 3.0
# Seconds of each phase: the first mails meet cold caches (availability look-ups), so the healthy
# phase starts after a warm-up.
WARM_UP, HEALTHY, DOWN, AFTER = 30.0, 60.0, 60.0, 60.0
PRODUCTION = {"SAKSPOST_LOG_LEVEL": "warning"}


@dataclass(frozen=True)
class Phases:
    """Where each phase begins (epoch seconds): healthy; the node killed, its groups electing new
    leaders; serving on two nodes; the node restarted."""

    healthy: float
    electing: float
    two_nodes: float
    restarted: float

    NAMES = ("healthy", "electing", "two_nodes", "restarted")

    @classmethod
    def of_loss(cls, loss: NodeLoss, healthy: float) -> Phases:
        # Without new leaders in time, the election lasted until the node was back.
        serving = loss.restarted if loss.serving is None else min(loss.serving, loss.restarted)
        return cls(healthy, loss.killed, serving, loss.restarted)

    def of(self, at: float) -> str | None:
        """The phase of a moment, None before the healthy phase."""
        begins = (self.healthy, self.electing, self.two_nodes, self.restarted)
        names = [name for name, begin in zip(self.NAMES, begins, strict=True) if at >= begin]
        return names[-1] if names else None


def _stored(events: list[Seen], kind: str) -> dict[str, Seen]:
    """Per case, its first event of `kind`."""
    first: dict[str, Seen] = {}
    for seen in events:
        case = seen.payload.get("case_id")
        if seen.payload.get("type") == kind and isinstance(case, str):
            first.setdefault(case, seen)
    return first


def _longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest stretch of [start, end) without one of `times`."""
    inside = sorted(t for t in times if start < t < end)
    return max(b - a for a, b in itertools.pairwise([start, *inside, end]))


def _latencies(
    starts: dict[str, float], ends: dict[str, float], phases: Phases, name: str
) -> dict[str, float]:
    """Milliseconds from start to end per case, summarised by the phase the start fell in, and
    the ratio of each later phase's to the healthy one's."""
    by_phase: dict[str, list[float]] = {name: [] for name in Phases.NAMES}
    for case, start in starts.items():
        phase = phases.of(start)
        if phase is not None and case in ends:
            by_phase[phase].append((ends[case] - start) * 1000)
    figures: dict[str, float] = {}
    for phase, values in by_phase.items():
        figures.update(summary(values, f"nodeloss.{name}_ms.{phase}"))
    for phase in Phases.NAMES[1:]:
        for rank in ("p50", "p95"):
            healthy = figures.get(f"nodeloss.{name}_ms.healthy.{rank}")
            other = figures.get(f"nodeloss.{name}_ms.{phase}.{rank}")
            if healthy and other is not None:
                figures[f"nodeloss.ratio.{name}.{phase}_to_healthy.{rank}"] = round(
                    other / healthy, 2
                )
    return figures


def node_loss_figures(
    events: list[Seen], delivered: dict[str, float], loss: NodeLoss, healthy: float
) -> dict[str, float]:
    """The cost of `loss`, from the run's events and delivery times (pure); the healthy phase
    begins at `healthy`.

    `received` → `routed` is the path through the classifier and the router; a mail that ingest
    could not store while the events stream had no leader is received late and only then
    timed, so the end-to-end figure, from SMTP's acceptance (Graph's notification) to `routed`,
    is given beside it."""
    received = {case: seen.stored for case, seen in _stored(events, "received").items()}
    routed = {case: seen.stored for case, seen in _stored(events, "routed").items()}
    accepted = {
        case: delivered[seen.payload.get("internet_message_id", "")]
        for case, seen in _stored(events, "received").items()
        if seen.payload.get("internet_message_id") in delivered
    }
    phases = Phases.of_loss(loss, healthy)
    figures = {
        "nodeloss.groups_led": float(loss.groups_led),
        "nodeloss.seconds_down": round(loss.restarted - loss.killed, 1),
        "nodeloss.routing_gap_seconds.healthy": round(
            _longest_gap(list(routed.values()), healthy, loss.killed), 2
        ),
        "nodeloss.routing_gap_seconds.node_lost": round(
            _longest_gap(list(routed.values()), loss.killed, loss.restarted), 2
        ),
    }
    if loss.serving is not None:
        figures["nodeloss.seconds_to_new_leaders"] = round(loss.serving - loss.killed, 2)
    if loss.current is not None:
        figures["nodeloss.seconds_to_current"] = round(loss.current - loss.restarted, 2)
    figures.update(_latencies(received, routed, phases, "received_to_routed"))
    figures.update(_latencies(accepted, routed, phases, "delivered_to_routed"))
    return figures


async def run_node_loss(
    workdir: Path,
    rate: float,
    seconds: tuple[float, float, float, float] = (WARM_UP, HEALTHY, DOWN, AFTER),
    seed: int = 1,
    env: dict[str, str] | None = None,
) -> tuple[ChaosReport, dict[str, float]]:
    """Mail at `rate` for warm-up + healthy + down + after `seconds`; one node lost for the down
    phase. The chaos report (its invariants) and the figures."""
    warm_up, healthy, down, after = seconds
    async with local_stack(workdir / "stack", env or PRODUCTION, nats_nodes=NODES) as stack:
        node = random.Random(seed).choice(stack.nats_node_names())
        fault = Fault(warm_up + healthy, FaultKind.LOSE_NATS_NODE, node, down, 0)
        duration = warm_up + healthy + down + after
        report = await run_faults(stack, sample_mail(), [fault], duration, rate, seed)
    figures = {"nodeloss.mails": float(report.mails), "nodeloss.rate": rate}
    figures["nodeloss.violations"] = float(len(report.violations))
    for loss in report.node_losses:
        figures.update(
            node_loss_figures(report.events, report.delivered, loss, loss.killed - healthy)
        )
    return report, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="mails per second")
    parser.add_argument("--seed", type=int, default=1, help="which node is lost")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sakspost-nodeloss-") as workdir:
        report, figures = asyncio.run(
            run_node_loss(Path(workdir), arguments.rate, seed=arguments.seed)
        )
    print(json.dumps(figures, indent=2, sort_keys=True))
    for violation in report.violations:
        print(f"violation: {violation}")


if __name__ == "__main__":
    main()
