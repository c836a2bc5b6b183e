"""A message that kills its consumer's process (issue 16, finding 2): a service process that dies
by SIGKILL on one event, restarted each time as Kubernetes would, dead-letters that event with the
reason `crashed` and an alert after `SAKSPOST_MAX_CRASHED_ATTEMPTS` deaths, and goes on with the
event behind it. Before, the event was redelivered forever (`max_deliver=-1`, and a killed process
raises nothing for the failure count) and everything behind it waited."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NoKeysError

from schemas.events import MailReceived, Party
from services.common.jetstream import DEAD_LETTER_STREAM, EVENTS_STREAM, FAILURES_BUCKET
from services.common.natsserver import NatsServer, free_port
from services.common.settings import REPO_ROOT, Settings
from tests.support import counting_service
from tests.support.environment import nats_environment
from tests.support.events import EventLog, event_log
from tests.support.provisioning import layout_for, provision_as_admin
from tests.support.publishing import EventInjector

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

ACK_WAIT_SECONDS = 1.0
MAX_CRASHED = 3


def _event(case_id: str) -> MailReceived:
    return MailReceived.build(
        case_id=case_id,
        department="post",
        mailbox="post@ha.kommune.no",
        internet_message_id=f"{case_id}@test.invalid",
        graph_message_id=f"g-{case_id}",
        sender=Party(address="someone@test.invalid"),
        subject="test",
        received_at=datetime(2026, 12, 6, tzinfo=UTC),
        mime_sha256="0" * 64,
        mime_size=0,
    )


async def _start(settings: Settings, record: Path, log: Path) -> asyncio.subprocess.Process:
    env = nats_environment(
        settings,
        SAKSPOST_HTTP_PORT=str(free_port()),
        SAKSPOST_ACK_WAIT_SECONDS=str(ACK_WAIT_SECONDS),
        SAKSPOST_MAX_CRASHED_ATTEMPTS=str(MAX_CRASHED),
        COUNTER_RECORD=str(record),
        COUNTER_KILLED_BY="poison",
    )
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.counting_service",
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )


async def _died_or_dead_lettered(process: asyncio.subprocess.Process, alerts: EventLog) -> bool:
    """Wait for whichever comes first; True when the process died."""
    died = asyncio.create_task(process.wait())
    dead_lettered = asyncio.create_task(
        alerts.wait_for(lambda _s, p: p["kind"] == "dead_letter", timeout=60)
    )
    done, pending = await asyncio.wait({died, dead_lettered}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*done)  # raises what failed (a timeout says what was seen)
    return died in done


async def _handled(record: Path, event_id: str, process: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while event_id not in (record.read_text() if record.exists() else ""):
        assert process.returncode is None, "the consumer died on the good event"
        assert asyncio.get_running_loop().time() < deadline, "the good event was not handled"
        await asyncio.sleep(0.01)  # polling a file another process writes: no event to await


async def test_a_message_that_kills_the_process_is_dead_lettered_and_the_next_is_handled(
    nats_server: NatsServer,
    settings: Settings,
    js: JetStreamContext,
    injector: EventInjector,
    tmp_path: Path,
) -> None:
    settings = settings.model_copy(update={"ack_wait_seconds": ACK_WAIT_SECONDS})
    # The consumer's ack wait is provisioning's: provisioned again with the short one, so a
    # killed process's message comes back this soon.
    await provision_as_admin(nats_server, layout_for(settings))
    poison, good = _event("poison"), _event("good")
    await injector.event(poison)
    await injector.event(good)
    record, log = tmp_path / "handled.txt", tmp_path / "consumer.log"

    deaths = 0
    async with event_log(settings, "sakspost.alert.>") as alerts:
        while True:  # a supervisor: start the service again each time it dies
            process = await _start(settings, record, log)
            if not await _died_or_dead_lettered(process, alerts):
                break
            assert process.returncode == -signal.SIGKILL, log.read_text()
            deaths += 1
            assert deaths <= MAX_CRASHED, "the poison event kept killing the service"
        try:
            await _handled(record, good.event_id, process)
        finally:
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0, log.read_text()

    assert deaths == MAX_CRASHED
    ((subject, alert),) = alerts.matching(lambda _s, p: p["kind"] == "dead_letter")
    assert subject == "sakspost.alert.dead_letter.post"
    assert alert["case_id"] == "poison" and alert["severity"] == "critical"
    assert alert["reason"].startswith(f"crashed: {MAX_CRASHED} attempts started and never ended")
    letter = await js.get_last_msg(
        DEAD_LETTER_STREAM, f"sakspost.deadletter.{counting_service.IDENTITY}"
    )
    assert letter.data == poison.to_json()
    assert record.read_text().split() == [good.event_id]
    info = await js.consumer_info(EVENTS_STREAM, counting_service.RECEIVED.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0
    # Settled messages leave nothing behind in the attempts bucket.
    with pytest.raises(NoKeysError):
        await (await js.key_value(FAILURES_BUCKET)).keys()
