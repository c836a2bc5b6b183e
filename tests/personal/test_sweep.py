"""The offboarding sweep (R16) over a large personal mailbox in the Graph emulator: it finishes,
waits out throttling (429 with Retry-After), resumes after a kill, reports the planted official mail
exactly, to the owner alone."""

from __future__ import annotations

import asyncio
import signal
import sys
from email import policy
from email.parser import BytesParser

import httpx
import pytest
from nats.js import JetStreamContext
from rich.progress import Progress

from devtools.graph_emulator import RunningEmulator
from sakspost.personal import run_sweep
from services.common.jetstream import INGEST_BUCKET
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import NOTICE_HEADER
from services.common.settings import REPO_ROOT, Settings
from services.ingest.personal.state import PersonalState, sweep_key
from tests.conftest import scaled
from tests.personal.conftest import sample
from tests.support.environment import nats_environment
from tests.support.tokens import Issuer, token_for

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

OWNER = "kristian.eik"
LEADER = "anne.grete.hobberstad"  # supervises the owner's department
OFFICIAL = ("0020.eml", "0113.eml", "0127.eml", "0060.eml", "0096.eml", "0148.eml", "0159.eml")
PRIVATE = ("0100.eml", "0022.eml")


def fill_mailbox(emulator: RunningEmulator, address: str, total: int) -> set[str]:
    """`total` mails, the official ones spread among private ones; their subjects."""
    store = emulator.emulator.store
    mailbox = store.mailbox(address)
    assert mailbox is not None
    spacing = total // len(OFFICIAL)
    planted: set[str] = set()
    for number in range(total):
        if number % spacing == 0 and number // spacing < len(OFFICIAL):
            raw = sample(OFFICIAL[number // spacing], to=address)
            planted.add(parse_mail(raw).subject)
        else:
            name = PRIVATE[number % len(PRIVATE)]
            raw = sample(name, to=address, message_id=f"private-{number}@heimenett.example")
        store.add(mailbox, raw, "inbox")
    return planted


async def read_at_least(js: JetStreamContext, key: str, count: int) -> None:
    """Until the sweep's checkpoint says `count` mails are read (a KV watch, no polling)."""
    kv = await js.key_value(INGEST_BUCKET)
    watcher = await kv.watch(key)
    try:
        async for entry in watcher:
            if entry is not None and entry.value and b'"read":' in entry.value:
                state = PersonalState(kv)
                if (await state.checkpoint(OWNER)).read >= count:
                    return
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped


async def test_sweep_finishes_waits_out_throttling_resumes_and_reports_exactly(
    org: Organisation,
    settings: Settings,
    js: JetStreamContext,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
) -> None:
    owner = org.staff_member(OWNER)
    total = scaled(5000)
    planted = fill_mailbox(emulator, owner.email, total)
    # Graph throttles this mailbox: one call in fifty gets 429 with Retry-After: 1.
    faults = {"throttle": 0.02, "retryAfter": 1}
    assert (await admin.put(f"/_emulator/mailboxes/{owner.email}/faults", json=faults)).is_success
    # R16: the owner did not opt in; their leader, signed in, records their consent (the sweep
    # checks the token as a service would). The first sweep is killed midway.
    env = nats_environment(
        Issuer.of(emulator).settings(settings),
        SAKSPOST_GRAPH_BASE_URL=emulator.graph_url,
        SAKSPOST_LOG_LEVEL="warning",
        SAKSPOST_TOKEN=token_for(emulator, org.staff_member(LEADER).email),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sakspost.personal", owner.email, "--consent",
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.wait_for(read_at_least(js, sweep_key(OWNER), total // 3), 60)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    state = PersonalState(await js.key_value(INGEST_BUCKET))
    killed_at = await state.checkpoint(OWNER)
    assert 0 < killed_at.read < total and not killed_at.done
    assert (await state.consent(OWNER)) is not None

    assert (await admin.post("/_emulator/requests/reset")).is_success
    graph_settings = settings.model_copy(update={"graph_base_url": emulator.graph_url})
    with Progress(disable=True) as progress:
        report = await asyncio.wait_for(
            run_sweep(graph_settings, org, owner, None, False, progress), 90
        )
    assert report is not None

    # Finished, every mail read once across the kill, the planted official mail exactly.
    assert report.read == total
    assert {subject for _, subject in report.found} == planted
    assert len(report.found) == len(planted)
    # Resumed from the checkpoint: the second run read only what was left (plus the found).
    requests = (await admin.get("/_emulator/requests")).json()
    mime_reads = sum(n for route, n in requests["byRoute"].items() if route.endswith("$value"))
    assert mime_reads < total - killed_at.read + 2 * len(planted) + 100 + report.throttled
    # Throttled, and waited out: every 429 was followed by a successful retry.
    assert report.throttled > 0 and requests["byStatus"].get("429", 0) > 0

    # The owner alone got the report, with the subjects (R16); the checkpoint keeps no content.
    reports = []
    mailbox = emulator.emulator.store.mailbox(owner.email)
    assert mailbox is not None
    for stored in mailbox.in_folder("inbox"):
        parsed = BytesParser(policy=policy.default).parsebytes(stored.mime)
        if parsed[NOTICE_HEADER]:
            reports.append(parsed)
    assert len(reports) == 1
    text = str(reports[0].get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert all(subject in text for subject in planted)
    finished = (await (await js.key_value(INGEST_BUCKET)).get(sweep_key(OWNER))).value or b""
    assert not any(subject.encode() in finished for subject in planted)
