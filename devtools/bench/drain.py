"""Backlog drain: `python -m devtools.bench.drain [--mails 2000] [--replicas 1 2]`.

Sakspost is down (every service stopped; Graph keeps the mail, its notifications to the dead
webhook fail and are given up) while `--mails` offisiell and privat mails arrive. Then the services
start again: ingest takes over the lease and its delta catch-up finds the backlog, which drains
through the non-archive path. Timed from the services' start to the last `routed` and to the last
assignee's notice, with 1 and 2 processes of each service (one notifier: it runs as one replica).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

from devtools.harness.delivery import deliver_at_rate
from devtools.harness.events import record_events
from devtools.harness.mail import copies, shared_samples
from devtools.harness.progress import Progress
from devtools.harness.stack import local_stack
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT

DEFAULT_MAILS = 200
FULL_MAILS = 2000
NON_ARCHIVE = {"offisiell", "privat"}
SINGLE_REPLICA = frozenset({"notifier"})
DRAIN_TIMEOUT_SECONDS = 1800.0


async def drain_once(mails_count: int, replicas: int, workdir: Path) -> dict[str, float]:
    org = load_organisation(DEFAULT_ORG_CONFIG)
    samples = shared_samples(REPO_ROOT / "samples", org, NON_ARCHIVE)
    mails = copies(samples, mails_count, uuid.uuid4().hex[:8])
    async with local_stack(workdir / f"stack-{replicas}") as stack:
        await stack.stop_services()
        await deliver_at_rate(stack.ports.graph_smtp, mails, float("inf"))
        async with record_events(stack.settings()) as recorder:
            progress = Progress({mail.message_id for mail in mails}, archive=False)
            started = time.monotonic()
            await stack.start_services(replicas, SINGLE_REPLICA)
            ready = time.monotonic()
            await recorder.wait_until(progress, DRAIN_TIMEOUT_SECONDS, "the backlog drained")
    routed = [at for (kind, _), at in progress.firsts.items() if kind == "routed"]
    noticed = [at for (kind, _), at in progress.firsts.items() if kind == "notice_sent"]
    prefix = f"drain.replicas_{replicas}"
    to_routed = max(routed) - started
    return {
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
