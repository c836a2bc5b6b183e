"""Ingest's memory while it keeps one large mail, measured in a process of its own.

The process does what ingest's fetcher does with a new mail's MIME (`services/ingest/spool.py`):
download it from Graph into a spool file, store it in the Object Store, and build its `received`
event from what the parse cap lets it read. It reports its resident memory just before, and its
peak while it did so (Linux's VmHWM, reset just before): the growth is what one mail costs ingest.
`ru_maxrss` would not do: Linux carries it over from the parent across fork and exec, so a
child of a large test process starts with the parent's peak.

    python -m devtools.bench.mimepeak <mailbox> <graph message id>    # SAKSPOST_* as ingest's

The last line of its output is JSON: `rss_before_kib`, `peak_kib`, `sha256`, `size`, `defects`.
`make bench` runs it on a 28 MB and a 140 MB mail (`bench_large_mail`: its own nats-server and
Graph emulator); ingest's tests on a 28 MB one.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import httpx
import psutil

from devtools.graph_emulator import run_emulator
from devtools.harness.connect import connect_as
from sakspost.registry import full_layout
from services.common.graph import graph_client_for
from services.common.jetstream import provision
from services.common.logging import configure_logging
from services.common.mimelimits import MimeParseLimits
from services.common.mimestore import MimeStore
from services.common.natsserver import start_nats_server
from services.common.orgconfig import Organisation, load_organisation
from services.common.received import build_received
from services.common.seal import signing_keys
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT, Settings
from services.ingest.config import IngestSettings
from services.ingest.gateway import GraphGateway, MailboxGate
from services.ingest.spool import SpoolLimits, spooled_mime

KIB = 1024
MB = 1_000_000
MIB = 1024 * KIB
BENCH_SIZES_MB = (28, 140)
# Base64 in lines of 76 characters and CRLF: 78 bytes of MIME for every 57 of attachment.
_BASE64_GROWTH = 78 / 57
_STATUS = Path("/proc/self/status")


def _reset_peak() -> None:
    """Make the peak RSS (VmHWM) start again from the current RSS (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_kib() -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def mail_of_size(size: int, tag: str, to: str) -> bytes:
    """A mail of about `size` bytes: a text body and one attachment of random (incompressible)
    bytes, as a scanned drawing would be."""
    message = EmailMessage(policy=SMTP)
    message["From"] = "Kari Nordmann <kari@example.org>"
    message["To"] = to
    message["Subject"] = f"Teikningar {tag}"
    message["Message-ID"] = f"<large-{tag}@example.org>"
    message.set_content("Vedlagt er teikningane til byggjesøknaden.\n")
    message.add_attachment(
        random.Random(tag).randbytes(int(size / _BASE64_GROWTH)),
        maintype="application",
        subtype="octet-stream",
        filename="teikningar.bin",
    )
    return message.as_bytes()


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
                keys=signing_keys(settings),
                stored=mime.stored,
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


async def _bench(org: Organisation, workdir: Path) -> dict[str, float]:
    server = start_nats_server(workdir / "nats", log_file=workdir / "nats-server.log")
    try:
        async with run_emulator(org, "127.0.0.1", 0, 0) as emulator:
            settings = server.settings(graph_base_url=emulator.graph_url)
            admin = await connect_as(settings, "admin", "sakspost-bench-large-mail")
            try:
                await provision(admin.jetstream(), full_layout(settings, org))
            finally:
                await admin.close()
            environment = {
                **server.environment(),
                "SAKSPOST_NATS_URL": server.url,
                "SAKSPOST_NATS_CREDENTIALS_DIR": str(server.credentials_dir),
                "SAKSPOST_GRAPH_BASE_URL": emulator.graph_url,
                "SAKSPOST_ORG_CONFIG": str(DEFAULT_ORG_CONFIG),
                "SAKSPOST_LOG_LEVEL": "warning",
            }
            mailbox = org.departments[org.common_department].addresses[0]
            figures: dict[str, float] = {}
            async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as graph:
                for size_mb in BENCH_SIZES_MB:
                    raw = mail_of_size(size_mb * MB, f"bench-{size_mb}", mailbox)
                    answer = await graph.post(
                        f"/_emulator/mailboxes/{mailbox}/deliver", content=raw, timeout=300
                    )
                    answer.raise_for_status()
                    del raw  # the emulator holds it; this process need not
                    found = await measure_in_process(environment, mailbox, answer.json()["id"])
                    growth_mib = (found["peak_kib"] - found["rss_before_kib"]) / KIB
                    key = f"ingest.large_mail.{size_mb}mb"
                    figures[f"{key}.peak_rss_mib"] = round(found["peak_kib"] / KIB, 1)
                    figures[f"{key}.growth_mib"] = round(growth_mib, 1)
                    figures[f"{key}.growth_mib_per_mail_mib"] = round(
                        growth_mib / (found["size"] / MIB), 3
                    )
    finally:
        server.stop()
    return figures


def bench_large_mail(org: Organisation | None = None) -> dict[str, float]:
    """Ingest's peak RSS, and its growth per MiB of mail, keeping a 28 MB and a 140 MB mail."""
    organisation = org or load_organisation(DEFAULT_ORG_CONFIG)
    with tempfile.TemporaryDirectory(prefix="sakspost-bench-") as workdir:
        return asyncio.run(_bench(organisation, Path(workdir)))


def main(arguments: list[str]) -> None:
    if not arguments:  # the bench alone
        print(json.dumps(bench_large_mail(), indent=2))
        return
    mailbox, message_id = arguments
    configure_logging("ingest", "warning")
    settings = Settings()
    print(json.dumps(asyncio.run(measure(settings, mailbox, message_id))))


if __name__ == "__main__":
    main(sys.argv[1:])
