"""Exactly once across crashes (R9a): a `python -m services.websak` process SIGKILLed right after
each step of filing a journalpost (the archive did it, websak never heard), then started again,
still ends with exactly one complete journalpost and one `archived` event."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from devtools.websak_standin.runner import DEFAULT_TOKEN
from schemas.events import Event
from services.common.jetstream import RECEIPTS_BUCKET
from services.common.natsserver import NatsServer
from services.common.orgconfig import Organisation
from services.common.settings import REPO_ROOT, Settings
from services.common.workers import WorkerPool
from services.websak.app import ROUTED, Wiring, build, open_archiver
from services.websak.receipts import ReceiptStore, Stage
from tests.support.environment import nats_environment
from tests.support.events import event_log
from tests.support.provisioning import layout_for, provision_as_admin
from tests.support.publishing import EventInjector
from tests.websak_service.conftest import MARKER_KEY, wiring_for
from tests.websak_service.gate import Gate, gated_standin
from tests.websak_service.support import (
    assert_one_complete_journalpost,
    deliver,
    label_of,
    publish,
)

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

# 0020: bygg, two attachments, so every kind of step occurs.
SAMPLE = "0020.eml"
ACK_WAIT_SECONDS = 2.0
JOURNALPOST = r"/api/integration/journalpost/\d+"

# The step just done: (method, path, occurrence) of the request whose answer is held.
STEPS = {
    "placed_and_looked_up": ("GET", r"/api/integration/sak/\d+/journalposter", 1),
    "journalpost_created": ("POST", r"/api/integration/journalpost/ny", 1),
    "sender_added": ("POST", JOURNALPOST + "/avsmottakere", 1),
    "main_document_uploaded": ("POST", JOURNALPOST + "/dokument/nytthoveddokument", 1),
    "original_uploaded": ("POST", JOURNALPOST + "/dokument/nyttvedlegg", 1),
    "attachment_uploaded": ("POST", JOURNALPOST + "/dokument/nyttvedlegg", 2),
    "journalpost_checked": ("GET", JOURNALPOST, 1),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _start_websak_process(settings: Settings, websak_url: str) -> asyncio.subprocess.Process:
    env = nats_environment(
        settings,
        SAKSPOST_HTTP_PORT=str(_free_port()),
        SAKSPOST_DATA_DIR=str(settings.data_dir),
        SAKSPOST_ACK_WAIT_SECONDS=str(ACK_WAIT_SECONDS),
        SAKSPOST_RETRY_BASE_SECONDS="0.05",
        SAKSPOST_RETRY_MAX_SECONDS="0.5",
        SAKSPOST_LOG_LEVEL="warning",
        SAKSPOST_WEBSAK_BASE_URL=websak_url,
        SAKSPOST_WEBSAK_TOKEN=DEFAULT_TOKEN,
        SAKSPOST_WEBSAK_MARKER_KEY=MARKER_KEY.marker_key.get_secret_value(),
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.websak", env=env, cwd=REPO_ROOT
    )


@pytest.mark.parametrize("step", list(STEPS))
async def test_killed_after_each_step_still_one_complete_journalpost(  # R9a
    step: str,
    nats_server: NatsServer,
    injector: EventInjector,
    org: Organisation,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings = settings.model_copy(update={"ack_wait_seconds": ACK_WAIT_SECONDS})
    # The consumers' acknowledgement wait is provisioning's: provisioned again, as `sakspost
    # provision` does with these settings, so a killed process's message comes back this soon.
    changed = await provision_as_admin(nats_server, layout_for(settings))
    assert changed[f"consumer:{ROUTED.durable}"] == "updated"
    gate = Gate(*STEPS[step])
    mail = await deliver(injector, org, label_of(SAMPLE))
    async with (
        gated_standin(tmp_path / "websak", gate) as url,
        event_log(settings, "sakspost.mail.archived.>") as archived,
    ):
        process = await _start_websak_process(settings, url)
        try:
            await publish(injector, mail.routed)
            await asyncio.wait_for(gate.held.wait(), timeout=60)
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        assert process.returncode == -signal.SIGKILL
        gate.released.set()

        async with build(settings, org, wiring_for(url)).running():
            ((_subject, event),) = await archived.wait_for_case(
                mail.case_id, "archived", timeout=30
            )
        assert len(archived.seen) == 1
        await assert_one_complete_journalpost(url, mail, event)


async def test_crash_after_the_documents_before_archived_is_published(  # R9a
    js: JetStreamContext,
    injector: EventInjector,
    connect_as: Callable[[str], Awaitable[Client]],
    org: Organisation,
    settings: Settings,
    tmp_path: Path,
    workers: WorkerPool,
) -> None:
    mail = await deliver(injector, org, label_of(SAMPLE))
    never = Gate("GET", "/never")

    async def crash(_event: Event) -> None:
        raise ConnectionError("the process died before the publish reached NATS")

    async with (
        gated_standin(tmp_path / "websak", never) as url,
        event_log(settings, "sakspost.mail.archived.>") as archived,
    ):
        wiring = wiring_for(url)
        # The archiver of a websak process, with websak's rights.
        websak_js = (await connect_as("websak")).jetstream()
        archiver, archive = await open_archiver(websak_js, crash, settings, org, wiring, workers)
        with pytest.raises(ConnectionError):
            await archiver.on_routed(mail.routed)
        await archive.aclose()
        receipts = ReceiptStore(await js.key_value(RECEIPTS_BUCKET))
        stored = await receipts.get(mail.case_id)
        assert stored is not None and stored[0].stage is Stage.DOCUMENTS_UPLOADED

        # Started again with the WebSak stand-in unreachable: the receipt alone finishes the case.
        unreachable = Wiring(
            connection=wiring_for("http://127.0.0.1:9").connection, marker_key=MARKER_KEY
        )
        async with build(settings, org, unreachable).running():
            await publish(injector, mail.routed)
            ((_subject, event),) = await archived.wait_for_case(mail.case_id, "archived")
        await assert_one_complete_journalpost(url, mail, event)
