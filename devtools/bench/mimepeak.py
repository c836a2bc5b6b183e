"""Ingest's memory while it keeps one large mail, measured in a process of its own.

The process does what ingest's fetcher does with a new mail's MIME (`services/ingest/spool.py`):
download it from Graph into a spool file, store it in the Object Store, and build its `received`
event from what the parse cap lets it read. It reports its resident memory just before, and its
peak while it did so (Linux's VmHWM, reset just before): the growth is what one mail costs ingest.
`ru_maxrss` would not do: Linux carries it over from the parent across fork and exec, so a
child of a large test process starts with the parent's peak.

    python -m devtools.bench.mimepeak <mailbox> <graph message id>    # SAKSPOST_* as ingest's

The last line of its output is JSON: `rss_before_kib`, `peak_kib`, `sha256`, `size`, `defects`.
Used by `make bench` (`large_mail_figures`) and by ingest's tests.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from devtools.harness.connect import connect_as
from services.common.graph import graph_client_for
from services.common.logging import configure_logging
from services.common.mimelimits import MimeParseLimits
from services.common.mimestore import MimeStore
from services.common.orgconfig import load_organisation
from services.common.received import build_received
from services.common.settings import REPO_ROOT, Settings
from services.ingest.config import IngestSettings
from services.ingest.gateway import GraphGateway, MailboxGate
from services.ingest.spool import SpoolLimits, spooled_mime

KIB = 1024
_STATUS = Path("/proc/self/status")


def _reset_peak() -> None:
    """Make the peak RSS (VmHWM) start again from the current RSS (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_kib() -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


async def measure(settings: Settings, mailbox: str, message_id: str) -> dict[str, Any]:
    """Keep one mail as ingest does; memory figures in KiB."""
    ingest = IngestSettings()
    org = load_organisation(settings.org_config)
    gateway = GraphGateway(
        graph_client_for(settings, retries=False), MailboxGate(ingest.mailbox_concurrency)
    )
    limits = SpoolLimits.from_settings(ingest, MimeParseLimits.from_settings(settings))
    connection = await connect_as(settings, "ingest", "sakspost-bench-mimepeak")
    try:
        store = MimeStore(connection.jetstream())
        snapshot = await gateway.message(mailbox, message_id)
        _reset_peak()
        before = psutil.Process().memory_info().rss // KIB
        async with spooled_mime(gateway, mailbox, message_id, limits) as mime:
            event = build_received(
                org,
                mailbox,
                mime.raw_for_parse,
                snapshot.id,
                snapshot.received_at or datetime.now(UTC),
                oversize=mime.oversize,
                truncated=mime.truncated,
                stored_sha256=mime.download.sha256,
                stored_size=mime.download.size,
            )
            await mime.keep(store)
        peak = _peak_kib()
        stored_size = await store.size(event.mime_sha256)
    finally:
        await connection.close()
    return {
        "rss_before_kib": before,
        "peak_kib": peak,
        "sha256": event.mime_sha256,
        "size": event.mime_size,
        "stored_size": stored_size,
        "defects": event.parse_defects,
    }


async def measure_in_process(
    environment: dict[str, str], mailbox: str, message_id: str
) -> dict[str, Any]:
    """Run `measure` in a fresh Python process with `environment`; its figures."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devtools.bench.mimepeak",
        mailbox,
        message_id,
        env=environment,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"mimepeak exited with {process.returncode}")
    figures: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    return figures


def main(arguments: list[str]) -> None:
    mailbox, message_id = arguments
    configure_logging("ingest", "warning")
    settings = Settings()
    print(json.dumps(asyncio.run(measure(settings, mailbox, message_id))))


if __name__ == "__main__":
    main(sys.argv[1:])
