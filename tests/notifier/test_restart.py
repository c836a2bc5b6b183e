"""Never twice across crashes (R11): the notifier killed with SIGKILL halfway and started again,
every event delivered twice, and a crash between sending and recording."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from nats.aio.client import Client
from nats.js import JetStreamContext

from devtools.graph_emulator import run_emulator
from services.common.jetstream import NOTICES_BUCKET
from services.common.natsserver import NatsServer, free_port
from services.common.orgconfig import Organisation
from services.common.settings import REPO_ROOT, Settings
from services.notifier.compose import assigned_notice
from services.notifier.config import DEFAULT_NOTIFIER_CONFIG
from services.notifier.ledger import NoticeLedger
from tests.conftest import scaled
from tests.notifier.support import (
    ManualClock,
    drained,
    fast_config,
    inbox_notices,
    matching,
    routed,
)
from tests.notifier.test_service import notifier_stack, publish
from tests.support.environment import nats_environment
from tests.support.events import event_log
from tests.support.provisioning import TEST_SETTINGS, layout_for, provision_as_admin
from tests.support.publishing import EventInjector

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

ACK_WAIT_SECONDS = 2


def _start(
    nats_server: NatsServer, graph_url: str, config: Path, log: Path
) -> subprocess.Popen[bytes]:
    env = nats_environment(
        nats_server.settings(),
        SAKSPOST_HTTP_PORT=str(free_port()),
        SAKSPOST_GRAPH_BASE_URL=graph_url,
        SAKSPOST_ACK_WAIT_SECONDS=str(ACK_WAIT_SECONDS),
        SAKSPOST_RETRY_BASE_SECONDS="0.05",
        SAKSPOST_RETRY_MAX_SECONDS="0.5",
        SAKSPOST_LOG_LEVEL="warning",
        SAKSPOST_NOTIFIER_CONFIG=str(config),
    )
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "services.notifier"],
            cwd=REPO_ROOT, env=env, stdout=output, stderr=output,
        )  # fmt: skip


def _assigned(notices: list[EmailMessage]) -> list[str]:
    """The ids of assigned-mail notices (a digest may also arrive when the real clock says so)."""
    return [str(m["X-Sakspost-Notice"]) for m in notices if str(m["Subject"]).startswith("Tildelt")]


async def test_killed_and_restarted_halfway_with_every_event_twice_each_assignee_is_told_once(
    js: JetStreamContext,
    injector: EventInjector,
    nats_server: NatsServer,
    org: Organisation,
    tmp_path: Path,
) -> None:  # R11
    # The notifier's consumers with the process's acknowledgement wait, as `sakspost provision`
    # makes them with its settings: what the killed process held comes back this soon.
    settings = nats_server.settings(**{**TEST_SETTINGS, "ack_wait_seconds": ACK_WAIT_SECONDS})
    changed = await provision_as_admin(nats_server, layout_for(settings))
    assert changed["consumer:notifier-routed"] == "updated"
    config = yaml.safe_load(DEFAULT_NOTIFIER_CONFIG.read_text(encoding="utf-8"))
    config.update(claim_lease_seconds=1, retry_base_seconds=0.05, retry_max_seconds=0.2)
    config_file = tmp_path / "notifier.yaml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    caseworkers = org.departments["bygg"].caseworkers
    count = scaled(300, minimum=30)
    log = tmp_path / "notifier.log"
    async with (
        run_emulator(org, "127.0.0.1", 0, 0) as emulator,
        event_log(settings, "sakspost.notice.>") as notices,
    ):
        for n in range(count):
            await publish(injector, routed(n, caseworkers[n % 3], org))
            await publish(injector, routed(n, caseworkers[n % 3], org, replay=1))
        first = _start(nats_server, emulator.graph_url, config_file, log)
        try:
            await notices.wait_for(matching("assigned"), count // 3, timeout=60)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        told_before = len(notices.matching(matching("assigned")))
        assert told_before < count, "the kill came too late to test anything"
        second = _start(nats_server, emulator.graph_url, config_file, log)
        try:
            await notices.wait_for(matching("assigned"), count, timeout=90)
            await drained(js, "notifier-routed", timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        for offset, staff_id in enumerate(caseworkers):
            told = _assigned(inbox_notices(emulator, org.staff_member(staff_id).email))
            expected = len(range(offset, count, 3))
            assert len(told) == len(set(told)) == expected, staff_id
    audits = notices.matching(matching("assigned"))
    assert len(audits) == count


async def test_a_crash_between_sending_and_recording_does_not_send_again(
    js: JetStreamContext,
    injector: EventInjector,
    connect_as: Callable[[str], Awaitable[Client]],
    settings: Settings,
    org: Organisation,
) -> None:  # R11
    clock = ManualClock()
    config = fast_config(org)
    async with notifier_stack(settings, org, config, clock) as stack:
        sent, unsent = routed(1, "kristin.hovland", org), routed(2, "gerd.skjaerpe", org)
        await publish(injector, sent)
        await stack.notices.wait_for(matching("assigned"))
        # What a notifier process leaves in its ledger when it died after sendMail (the first) or
        # before it (the second).
        kv = await (await connect_as("notifier")).jetstream().key_value(NOTICES_BUCKET)
        dead = {"state": "sending", "owner": "dead", "channel": None,
                "since": (clock.now - timedelta(hours=1)).isoformat()}  # fmt: skip
        ids = []
        for event in (sent, unsent):
            notice = assigned_notice(event, org, config)
            assert notice is not None
            ids.append(notice.notice_id)
            await kv.put(NoticeLedger.key(notice.notice_id), json.dumps(dead).encode())
        await publish(injector, routed(1, "kristin.hovland", org, replay=1))
        await publish(injector, unsent)
        await stack.notices.wait_for(matching("assigned"), 2)
        await drained(js, "notifier-routed")
        for notice_id in ids:
            entry = await kv.get(NoticeLedger.key(notice_id))
            assert json.loads(entry.value or b"{}")["state"] == "sent"
    assert len(_assigned(inbox_notices(stack.emulator, "kristin.hovland@ha.kommune.no"))) == 1
    assert len(_assigned(inbox_notices(stack.emulator, "gerd.skjaerpe@ha.kommune.no"))) == 1
