"""What JetStream keeps per 1,000 mails, and what a backup of it takes.

    python -m devtools.bench.storage [--mails 1000] [--rate 10]

Starts the whole local stack (as the pipeline benchmark does), delivers `--mails` copies of the
labelled shared-mailbox samples over SMTP (every class and department, each copy a new mail),
waits until every mail is through the pipeline (routed, noticed, archived and completed where
arkivverdig) and every consumer is idle, then reads each stream's bytes from JetStream and the
store's size on disk, backs everything up with `sakspost backup`'s own code, and restores the
backup into a second, empty nats-server with `sakspost restore`'s (which checks every stream's
count). Prints the figures as JSON, the sizes also per 1,000 mails.

Everything runs under the production permissions: the events are watched as `integrator`, the
streams inspected, backed up and restored as `admin` (the second server has its own credentials).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

from devtools.harness.connect import connect_as
from devtools.harness.delivery import deliver_at_rate
from devtools.harness.events import record_events
from devtools.harness.mail import copies, shared_samples
from devtools.harness.progress import Progress
from devtools.harness.quiet import wait_quiet
from devtools.harness.stack import local_stack
from sakspost.backup import back_up, restore
from sakspost.manifest import backup_order
from sakspost.registry import full_layout
from services.common.jetstream import EVENTS_STREAM, MIME_BUCKET
from services.common.natsserver import start_nats_server
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT

DEFAULT_MAILS = 1000
DEFAULT_RATE = 10.0
# Archiving renders a PDF/A per arkivverdig mail, the slowest stage, after the last delivery.
DRAIN_SECONDS = 1800.0


async def measure(mails_count: int, rate: float, workdir: Path) -> dict[str, float]:
    org = load_organisation(DEFAULT_ORG_CONFIG)
    mails = copies(shared_samples(REPO_ROOT / "samples", org), mails_count, uuid.uuid4().hex[:8])
    async with (
        local_stack(workdir / "stack") as stack,
        record_events(stack.settings()) as recorder,
    ):
        progress = Progress({mail.message_id for mail in mails})
        await deliver_at_rate(stack.ports.graph_smtp, mails, rate)
        await recorder.wait_until(progress, DRAIN_SECONDS, "every mail through the pipeline")
        settings = stack.settings()
        await wait_quiet(settings, DRAIN_SECONDS)
        layout = full_layout(settings, org)
        figures: dict[str, float] = {
            "mails": float(len(mails)),
            "mime_bytes_delivered": float(sum(len(mail.raw) for mail in mails)),
        }
        connection = await connect_as(settings, "admin", "sakspost-bench-storage")
        try:
            js = connection.jetstream()
            for stream in backup_order(layout):
                state = (await js.stream_info(stream)).state
                figures[f"stream.{stream}.messages"] = float(state.messages)
                figures[f"stream.{stream}.bytes"] = float(state.bytes)
        finally:
            await connection.close()
        assert stack.nats_server is not None
        # Every node's JetStream store (one node unless the stack runs a cluster).
        stores = [node.config.store_dir for node in stack.nats_server.nodes]
        figures["disk_bytes"] = float(
            sum(p.stat().st_size for store in stores for p in store.rglob("*") if p.is_file())
        )
        started = time.monotonic()
        manifest = await back_up(settings, layout, workdir / "backup", lambda _line: None)
        figures["backup_seconds"] = round(time.monotonic() - started, 1)
        figures["backup_bytes"] = float(sum(entry.size for entry in manifest.streams))
    fresh = await asyncio.to_thread(start_nats_server, workdir / "restored")
    try:
        started = time.monotonic()
        await restore(fresh.settings(), workdir / "backup", lambda _line: None)
        figures["restore_seconds"] = round(time.monotonic() - started, 1)
    finally:
        await asyncio.to_thread(fresh.stop)
    kv = sum(v for k, v in figures.items() if k.startswith("stream.KV_") and k.endswith(".bytes"))
    figures["kv_bytes"] = kv
    per_thousand = 1000 / len(mails)
    for name, key in (
        ("events", f"stream.{EVENTS_STREAM}.bytes"),
        ("mime", f"stream.OBJ_{MIME_BUCKET}.bytes"),
        ("kv", "kv_bytes"),
        ("disk", "disk_bytes"),
        ("backup", "backup_bytes"),
    ):
        figures[f"per_1000_mails.{name}_bytes"] = round(figures[key] * per_thousand)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=DEFAULT_MAILS)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="mails per second")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sakspost-storage-") as workdir:
        figures = asyncio.run(measure(arguments.mails, arguments.rate, Path(workdir)))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
