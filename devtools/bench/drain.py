"""Backlog drain: `python -m devtools.bench.drain [--mails 10000] [--replicas 1 2]`.

Sakspost is down (every service stopped; Graph keeps the mail, its notifications to the dead
webhook fail and are given up) while `--mails` offisiell and privat mails arrive, taking turns
between the eight shared mailboxes. Then the services start again: ingest takes over the lease and
its delta catch-up finds the backlog, which drains through the non-archive path. Timed from the
services' start to the last `routed` and to the last assignee's notice, with 1 and 2 processes of
each service (one notifier: it runs as one replica). The emulator enforces Graph's limits per
mailbox; the Graph calls of the drain (reads per mail, 429s) are counted from its request log.
`make bench-full` drains 10,000 mails with two replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from devtools.bench.graphlog import LIMITED, graph_figures
from devtools.harness.delivery import deliver_at_rate
from devtools.harness.events import record_events
from devtools.harness.mail import shared_samples, spread
from devtools.harness.progress import Progress
from devtools.harness.stack import local_stack
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT

DEFAULT_MAILS = 200
FULL_MAILS = 10_000
NON_ARCHIVE = {"offisiell", "privat"}
SINGLE_REPLICA = frozenset({"notifier"})
# At least half an hour, and at least 2 mails/s for a large backlog.
DRAIN_TIMEOUT_SECONDS = 1800.0
SLOWEST_RATE = 2.0
# The drain's Graph figures (of `graph_figures`) worth reporting.
GRAPH_SHOWN = (
    "graph.reads_per_mail",
    "graph.other_requests_per_mail",
    "graph.throttled",
    "graph.busiest_mailbox_requests",
)


async def drain_once(mails_count: int, replicas: int, workdir: Path) -> dict[str, float]:
    org = load_organisation(DEFAULT_ORG_CONFIG)
    samples = shared_samples(REPO_ROOT / "samples", org, NON_ARCHIVE)
    mails = spread(samples, mails_count, uuid.uuid4().hex[:8])
    timeout = max(DRAIN_TIMEOUT_SECONDS, mails_count / SLOWEST_RATE)
    async with (
        local_stack(workdir / f"stack-{replicas}", LIMITED) as stack,
        httpx.AsyncClient(base_url=stack.graph_url, trust_env=False) as graph,
    ):
        await stack.stop_services()
        await deliver_at_rate(stack.ports.graph_smtp, mails, float("inf"))
        async with record_events(stack.settings()) as recorder:
            progress = Progress({mail.message_id for mail in mails}, archive=False)
            await graph.post("/_emulator/requests/reset")
            queued_before = int((await graph.get("/_emulator/notifications")).json()["queued"])
            started = time.monotonic()
            await stack.start_services(replicas, SINGLE_REPLICA)
            ready = time.monotonic()
            await recorder.wait_until(progress, timeout, "the backlog drained")
            requests = (await graph.get("/_emulator/requests")).json()
            notifications = (await graph.get("/_emulator/notifications")).json()
            notifications["queued"] = int(notifications["queued"]) - queued_before
    routed = [at for (kind, _), at in progress.firsts.items() if kind == "routed"]
    noticed = [at for (kind, _), at in progress.firsts.items() if kind == "notice_sent"]
    prefix = f"drain.replicas_{replicas}"
    to_routed = max(routed) - started
    graph_calls = graph_figures(requests, notifications, len(mails))
    return {
        **{f"{prefix}.{key}": graph_calls[key] for key in GRAPH_SHOWN},
        f"{prefix}.mails": float(len(mails)),
        f"{prefix}.seconds_to_ready": round(ready - started, 1),
        f"{prefix}.seconds_to_routed": round(to_routed, 1),
        f"{prefix}.seconds_to_noticed": round(max(noticed) - started, 1),
        f"{prefix}.routed_per_second": round(len(mails) / to_routed, 1),
    }


def bench_drain(mails: int = DEFAULT_MAILS, replicas: tuple[int, ...] = (1, 2)) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="sakspost-drain-") as workdir:
        for count in replicas:
            figures.update(asyncio.run(drain_once(mails, count, Path(workdir))))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=DEFAULT_MAILS, help=f"e.g. {FULL_MAILS}")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    arguments = parser.parse_args()
    print(json.dumps(bench_drain(arguments.mails, tuple(arguments.replicas)), indent=2))


if __name__ == "__main__":
    main()
