"""Ingest killed (SIGKILL) halfway and started again: still exactly one `received` per mail.

The real process (`python -m services.ingest`) runs; Graph retries the notifications it could not
deliver, the fetcher's unacknowledged work is redelivered, the lease runs out and the new process
takes over the subscriptions and catches up with delta from the links kept in KV.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext

from devtools.graph_emulator import RunningEmulator
from services.common.natsserver import free_port
from services.common.settings import REPO_ROOT, Settings
from tests.conftest import scaled
from tests.ingest.conftest import send_many, spread_mails, wait_working
from tests.ingest.test_exactly_once import assert_exactly_once
from tests.support.environment import nats_environment
from tests.support.events import event_log

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration


@contextmanager
def ingest_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.ingest"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


async def test_killed_and_restarted_halfway_loses_and_repeats_nothing(
    js: JetStreamContext, settings: Settings, emulator: RunningEmulator, tmp_path: Path
) -> None:  # R13
    count = scaled(500)
    port = free_port()
    env = nats_environment(
        settings,
        SAKSPOST_GRAPH_BASE_URL=emulator.graph_url,
        SAKSPOST_HTTP_PORT=str(port),
        SAKSPOST_ACK_WAIT_SECONDS="3",
        SAKSPOST_RETRY_BASE_SECONDS="0.05",
        SAKSPOST_RETRY_MAX_SECONDS="0.5",
        SAKSPOST_DELTA_INTERVAL_SECONDS="2",
        SAKSPOST_INGEST_LEASE_SECONDS="1.5",
        SAKSPOST_INGEST_UPKEEP_INTERVAL_SECONDS="0.3",
        SAKSPOST_LOG_LEVEL="warning",
    )
    mails = spread_mails(count, "restart")
    half = count // 2
    log = tmp_path / "ingest.log"
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client,
    ):
        with ingest_process(env, log) as first:
            await wait_working(client, within=60)
            await send_many(emulator.smtp_port, mails[:half])
            await events.wait_for(lambda _s, p: p["type"] == "received", half // 2, timeout=60)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        await send_many(emulator.smtp_port, mails[half:])
        with ingest_process(env, log):
            await wait_working(client, within=60)
            await assert_exactly_once(events, js, emulator, count)
