"""One bad item stops no loop (issue 16, finding 9): the personal watch, driven tick by tick against
the Graph emulator, with one mailbox Graph keeps failing and one mail whose subject holds a line
break (an encoded word decodes to it; the forward's Subject header refuses it).

Before, the mail's ValueError ended the tick before its folder's delta link was saved, so the same
mail failed on every tick, and the mailboxes after it, like those after a failing mailbox, were
never read. A failing Graph is left to the next tick without an alert; the bad mail is alerted
once and skipped. The offboarding sweep, which stopped at the same mail, finishes with the rest."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from devtools.graph_emulator import RunningEmulator
from schemas.events import Alert
from services.common.graph import graph_client_for
from services.common.isolation import Isolation
from services.common.jetstream import INGEST_BUCKET
from services.common.mail import DEFAULT_LIMITS
from services.common.orgconfig import Organisation, StaffMember
from services.common.outgoing import FORWARD_HEADER
from services.common.settings import Settings
from services.common.workers import WorkerPool
from services.ingest.config import IngestSettings
from services.ingest.gateway import GraphGateway, MailboxGate
from services.ingest.personal.mailroom import Mailroom
from services.ingest.personal.state import FOLDERS, Decision, PersonalState, folder_key
from services.ingest.personal.sweep import Sweep
from services.ingest.personal.watcher import PersonalWatcher
from services.ingest.state import IngestState, SubscriptionRecord
from services.ingest.webhook import BodyBudget
from tests.ingest.conftest import ingest_settings
from tests.personal.conftest import sample
from tests.support.connections import Connect
from tests.support.signing import TEST_KEYS

# In the organisation's order, which is the watch's: the failing mailbox and the bad mail come
# before the mailbox that must still be read.
FAILING, BROKEN, READ = "anne.grete.hobberstad", "elin.tjessem", "kristian.eik"
LINE_BREAK_SUBJECT = b"Subject: =?utf-8?q?S=C3=B8knad_om_l=C3=B8yve=0Agnr_12?="


def _with_line_break(raw: bytes) -> bytes:
    return re.sub(rb"(?mi)^Subject:.*$", LINE_BREAK_SUBJECT, raw, count=1)


async def _opted_in(state: PersonalState, member: StaffMember) -> None:
    """Opted in, with live subscriptions already kept (the watch need not create them)."""
    now = datetime.now(UTC)
    await state.decide(Decision(staff_id=member.id, opted_in=True, at=now, by=member.id))
    for folder in FOLDERS:
        record = SubscriptionRecord(
            id=f"sub-{member.id}-{folder}",
            mailbox=member.email,
            client_state="unused",
            expires=now + timedelta(days=3),  # beyond the renewal window
        )
        await state.save_subscription(folder_key(member.id, folder), record)


def _forwards(emulator: RunningEmulator, member: StaffMember) -> int:
    mailbox = emulator.emulator.store.mailbox(member.email)
    assert mailbox is not None
    sent = mailbox.in_folder("sentitems")
    return sum(1 for m in sent if f"\n{FORWARD_HEADER}:".encode() in m.mime.replace(b"\r", b""))


async def test_a_bad_mail_and_a_failing_mailbox_stop_neither_the_watch_nor_the_cursor(
    org: Organisation,
    settings: Settings,
    connect_as: Connect,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
    workers: WorkerPool,
) -> None:
    kv = await (await connect_as("ingest")).jetstream().key_value(INGEST_BUCKET)
    state = PersonalState(kv)
    graph = graph_client_for(ingest_settings(settings, emulator), retries=False)
    gateway = GraphGateway(graph, MailboxGate(4))
    alerts: list[Alert] = []

    async def publish(alert: Alert) -> None:
        alerts.append(alert)

    watcher = PersonalWatcher(
        org,
        IngestSettings(),
        state,
        gateway,
        Mailroom(
            org,
            gateway,
            IngestState(kv),
            state,
            IngestSettings(),
            TEST_KEYS,
            workers,
            DEFAULT_LIMITS,
        ),
        "https://ingest.invalid/graph/personal",
        0.0,  # every folder is due on every tick
        BodyBudget(IngestSettings().max_bodies_in_flight_bytes),
        Isolation("personal watch", org.common_department, publish),
    )
    failing, broken, read = (org.staff_member(s) for s in (FAILING, BROKEN, READ))
    for member in (failing, broken, read):
        await _opted_in(state, member)
    down = {"serverError": 1.0, "serverErrorStatus": 500}
    assert (await admin.put(f"/_emulator/mailboxes/{failing.email}/faults", json=down)).is_success

    await watcher.tick()  # the first round of each folder only sets its cursor
    cursor = await state.delta_link(broken.id, "inbox")
    assert cursor is not None
    store = emulator.emulator.store
    for member, raw in (
        (broken, _with_line_break(sample("0020.eml", to=broken.email))),
        (read, sample("0020.eml", to=read.email)),
    ):
        mailbox = store.mailbox(member.email)
        assert mailbox is not None
        store.add(mailbox, raw, "inbox")

    await watcher.tick()
    await watcher.tick()  # the bad mail is not met again, and nothing is alerted twice

    assert await state.delta_link(broken.id, "inbox") not in (None, cursor)
    assert _forwards(emulator, read) == 1
    assert _forwards(emulator, broken) == 0
    (alert,) = alerts  # the bad mail's, once
    assert alert.kind.value == "skipped" and alert.department == org.common_department
    assert alert.reason is not None and alert.reason.endswith(": ValueError")
    text = alert.model_dump_json()  # neither the subject nor an address leaves the mailbox
    assert "knad" not in text and "@" not in text


async def test_the_sweep_skips_a_mail_it_cannot_forward_and_finishes_with_the_rest(
    org: Organisation,
    settings: Settings,
    connect_as: Connect,
    emulator: RunningEmulator,
    workers: WorkerPool,
) -> None:
    kv = await (await connect_as("ingest")).jetstream().key_value(INGEST_BUCKET)
    graph = graph_client_for(ingest_settings(settings, emulator), retries=False)
    gateway = GraphGateway(graph, MailboxGate(4))
    owner = org.staff_member(READ)
    mailbox = emulator.emulator.store.mailbox(owner.email)
    assert mailbox is not None
    for raw in (
        _with_line_break(sample("0020.eml", to=owner.email)),
        sample("0113.eml", to=owner.email),
    ):
        emulator.emulator.store.add(mailbox, raw, "inbox")
    alerts: list[Alert] = []

    async def publish(alert: Alert) -> None:
        alerts.append(alert)

    sweep = Sweep(
        owner,
        gateway,
        Mailroom(
            org,
            gateway,
            IngestState(kv),
            PersonalState(kv),
            IngestSettings(),
            TEST_KEYS,
            workers,
            DEFAULT_LIMITS,
        ),
        PersonalState(kv),
        forward=True,
        isolation=Isolation("offboarding sweep", org.common_department, publish),
    )
    report = await sweep.run()

    assert report.read == 2 and len(report.found) == 2
    assert report.forwarded == 1 == _forwards(emulator, owner)
    (alert,) = alerts
    assert alert.reason is not None and alert.reason.endswith(": ValueError")
