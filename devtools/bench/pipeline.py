"""The whole pipeline under a steady load.

    python -m devtools.bench.pipeline [--mails N] [--rate R] [--no-profile]

Starts the whole local stack on free ports (embedded NATS, Graph emulator with Graph's limits per
mailbox, WebSak stand-in, all five services as processes), delivers copies of the labelled sample
mail over SMTP at a steady rate, taking turns between the eight shared mailboxes, follows every
case through the event stream, and measures latencies, stage times, Graph calls per mail, each
service's memory and CPU (the emulator's and nats-server's apart), where each service's CPU goes
(py-spy, `profile.py`), and a raw JetStream baseline on a server set up as the stack's
(`baseline.py`) that every figure is also given as a multiple of (`ratios.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.bench.baseline import jetstream_baseline
from devtools.bench.graphlog import LIMITED, graph_figures
from devtools.bench.hotspots import Profile, as_text
from devtools.bench.profile import Profiler
from devtools.bench.ratios import baseline_ratios
from devtools.bench.resources import ProcessWatch
from devtools.bench.stats import summary
from devtools.bench.timeline import END_TO_END, STAGES, Timeline
from devtools.harness.delivery import deliver_at_rate
from devtools.harness.events import record_events
from devtools.harness.mail import shared_samples, spread
from devtools.harness.progress import Progress
from devtools.harness.quiet import wait_quiet
from devtools.harness.stack import LocalStack, local_stack
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT

DEFAULT_MAILS = 200
DEFAULT_RATE = 10.0
# Beyond the last delivery: archiving renders a PDF/A per arkivverdig mail, the slowest stage.
DRAIN_SECONDS = 600.0
# Measured beside Sakspost's services but not counted as theirs.
TOOLS = frozenset({"graph-emulator", "nats-server"})


@dataclass(frozen=True)
class PipelineResult:
    figures: dict[str, float]
    end_to_end: dict[str, list[float]]
    stages: dict[str, list[float]]
    profiles: dict[str, Profile]


def watched_pids(stack: LocalStack) -> dict[str, int]:
    """Every service process, the Graph emulator and the nats-server node(s)."""
    pids = {name: stack.pids()[name] for name in [*stack.service_names(), "graph-emulator"]}
    assert stack.nats_server is not None
    for number, node in enumerate(stack.nats_server.nodes):
        if node.process is not None:
            pids["nats-server" if number == 0 else f"nats-server-{number + 1}"] = node.process.pid
    return pids


async def run_pipeline(
    mails_count: int,
    rate: float,
    workdir: Path,
    classes: set[str] | None = None,
    profile: bool = True,
) -> PipelineResult:
    """The load of `mails_count` sample copies (of `classes`, default all) at `rate` per second,
    with each service profiled unless `profile` is false."""
    org = load_organisation(DEFAULT_ORG_CONFIG)
    samples = shared_samples(REPO_ROOT / "samples", org, classes)
    mails = spread(samples, mails_count, uuid.uuid4().hex[:8])
    async with (
        local_stack(workdir / "stack", LIMITED) as stack,
        httpx.AsyncClient(base_url=stack.graph_url, trust_env=False) as graph,
        record_events(stack.settings()) as recorder,
    ):
        await graph.post("/_emulator/requests/reset")
        queued_before = int((await graph.get("/_emulator/notifications")).json()["queued"])
        pids = watched_pids(stack)
        watch = ProcessWatch(pids, apart=frozenset(n for n in pids if n.startswith(tuple(TOOLS))))
        profiler = Profiler({n: stack.pids()[n] for n in stack.service_names()}, workdir / "py-spy")
        watch.start()
        if profile:
            await profiler.start()
        progress = Progress({mail.message_id for mail in mails})
        delivered = await deliver_at_rate(stack.ports.graph_smtp, mails, rate)
        await recorder.wait_until(progress, DRAIN_SECONDS, "every mail through the pipeline")
        # Write-backs after Ferdig and their notifications still count as this load's calls.
        await wait_quiet(stack.settings(), DRAIN_SECONDS)
        await watch.stop()
        profiles = await profiler.stop()
        requests = (await graph.get("/_emulator/requests")).json()
        notifications = (await graph.get("/_emulator/notifications")).json()
        notifications["queued"] = int(notifications["queued"]) - queued_before
        received = [
            json.dumps(s.payload).encode()
            for s in recorder.seen
            if s.payload.get("type") == "received" and s.payload.get("case_id") in progress.cases
        ]
        baseline = await jetstream_baseline(workdir / "baseline", received)

    timeline = Timeline.build(delivered, progress.cases, progress.firsts)
    end_to_end = {name: timeline.between("delivered", kind) for name, kind in END_TO_END.items()}
    stages = {name: timeline.between(start, end) for name, start, end in STAGES}
    figures: dict[str, float] = {"pipeline.mails": float(len(mails)), "pipeline.offered_rate": rate}
    for name, values in end_to_end.items():
        figures.update(summary(values, f"latency_ms.{name}"))
    for name, values in stages.items():
        figures.update(summary(values, f"stage_ms.{name}"))
    span = timeline.span_seconds("routed")
    figures["throughput.routed_per_second"] = round(timeline.count("routed") / span, 2)
    figures.update(graph_figures(requests, notifications, len(mails)))
    figures.update(watch.figures(len(mails)))
    figures.update(baseline)
    figures.update(baseline_ratios(figures))
    return PipelineResult(figures, end_to_end, stages, profiles)


def bench_pipeline(
    mails: int = DEFAULT_MAILS,
    rate: float = DEFAULT_RATE,
    classes: set[str] | None = None,
    profile: bool = True,
) -> PipelineResult:
    with tempfile.TemporaryDirectory(prefix="sakspost-bench-") as workdir:
        return asyncio.run(run_pipeline(mails, rate, Path(workdir), classes, profile))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=DEFAULT_MAILS)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="mails per second")
    parser.add_argument("--no-profile", action="store_true", help="without py-spy")
    arguments = parser.parse_args()
    result = bench_pipeline(arguments.mails, arguments.rate, profile=not arguments.no_profile)
    print(json.dumps(result.figures, indent=2))
    for name, found in result.profiles.items():
        print(as_text(name, found))


if __name__ == "__main__":
    main()
