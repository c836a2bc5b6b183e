"""A consumer on the common runtime, stopped with SIGTERM halfway through a backlog and started
again, handles every event exactly once: acknowledged work is not redone, unacknowledged work is
redelivered (issue 2 acceptance; R13: nothing lost)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext

from schemas.events import MailReceived, Party
from services.common.jetstream import EVENTS_STREAM
from services.common.natsserver import NatsServer, free_port
from services.common.settings import REPO_ROOT
from tests.support import counting_service
from tests.support.environment import nats_environment
from tests.support.publishing import EventInjector

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

BACKLOG = 1000


def _event(number: int) -> MailReceived:
    return MailReceived.build(
        case_id=f"case{number:05d}",
        department="post",
        mailbox="post@ha.kommune.no",
        internet_message_id=f"{number}@test.invalid",
        graph_message_id=f"g{number}",
        sender=Party(address="someone@test.invalid"),
        subject="test",
        received_at=datetime(2026, 11, 25, tzinfo=UTC),
        mime_sha256="0" * 64,
        mime_size=0,
    )


def _start(nats_server: NatsServer, record: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = nats_environment(
        nats_server.settings(),
        SAKSPOST_HTTP_PORT=str(port),
        SAKSPOST_ACK_WAIT_SECONDS="5",
        COUNTER_RECORD=str(record),
    )
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.counting_service"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )


def _lines(record: Path) -> list[str]:
    return record.read_text(encoding="utf-8").split() if record.exists() else []


async def _wait_until(condition: object, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, f"consumer exited early with {process.returncode}"
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)  # polling a file another process writes: no event to await


async def test_sigterm_halfway_then_restart_handles_each_event_once(
    nats_server: NatsServer, js: JetStreamContext, injector: EventInjector, tmp_path: Path
) -> None:
    backlog = BACKLOG  # fast enough at full size: ~1 ms an event
    for number in range(backlog):
        await injector.event(_event(number))
    record = tmp_path / "handled.txt"
    port = free_port()
    log = tmp_path / "consumer.log"

    first = _start(nats_server, record, port, log)
    await _wait_until(lambda: len(_lines(record)) >= backlog // 3, first, timeout=60)
    first.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.wait, 60) == 0, log.read_text()
    handled_before_restart = len(_lines(record))
    assert handled_before_restart < backlog, "the stop must come halfway through the backlog"

    info = await js.consumer_info(EVENTS_STREAM, counting_service.RECEIVED.durable)
    # Everything handled before the stop was acknowledged. At most the one message fetched but
    # not yet handled when the stop came is outstanding; the server redelivers it after ack_wait.
    assert info.ack_floor.stream_seq == handled_before_restart
    assert info.num_ack_pending <= 1

    second = _start(nats_server, record, port, log)
    try:
        await _wait_until(lambda: len(_lines(record)) >= backlog, second, timeout=120)
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text
    finally:
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 60) == 0

    counts = Counter(_lines(record))
    assert len(counts) == backlog
    assert [event_id for event_id, n in counts.items() if n != 1] == []
