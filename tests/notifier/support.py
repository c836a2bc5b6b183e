"""Test support for the notifier: a real HTTP listener (Teams, webhook), events, mailbox reads."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import uvicorn
from nats.js import JetStreamContext
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devtools.graph_emulator import RunningEmulator
from schemas.events import Alert, MailRouted, Party
from schemas.identity import make_case_id, make_event_id
from schemas.vocab import AlertKind, AssignmentPolicy, MailClass, SensitiveKind
from services.common.jetstream import EVENTS_STREAM, NOTICES_BUCKET
from services.common.kvread import live_entries
from services.common.orgconfig import Organisation
from services.common.outgoing import NOTICE_HEADER
from services.common.starts import STARTS_BUCKET, read_starts
from services.notifier.config import DEFAULT_NOTIFIER_CONFIG, NotifierConfig, load_notifier_config

# Before the digest hour (07:30 in Oslo), so that only what a test asks for is sent.
NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Listener:
    """Every POST it got; answers with `status` (settable, so a test can make it fail)."""

    url: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def record(self, request: Request) -> Response:
        async with self._changed:
            self.received.append(
                Received(request.url.path, dict(request.headers), await request.body())
            )
            self._changed.notify_all()
        return Response(status_code=self.status)

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        async def enough() -> list[Received]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.received) >= count)
                return list(self.received)

        return await asyncio.wait_for(enough(), timeout)


@asynccontextmanager
async def run_listener() -> AsyncIterator[Listener]:
    """A real HTTP server on a free 127.0.0.1 port."""
    listener = Listener()
    app = Starlette(routes=[Route("/{path:path}", listener.record, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        listener.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        yield listener
    finally:
        server.should_exit = True
        await serving
        sock.close()


@dataclass
class ManualClock:
    """A clock the test moves: windows and the digest hour come when the test says so."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fast_config(org: Organisation, **changes: object) -> NotifierConfig:
    """Hå's configuration with the waits of a test (milliseconds instead of minutes)."""
    base = load_notifier_config(DEFAULT_NOTIFIER_CONFIG, org)
    update: dict[str, object] = {
        "storm_window_seconds": 0.3,
        "flush_tick_seconds": 0.05,
        "send_attempts": 2,
        "retry_base_seconds": 0.01,
        "retry_max_seconds": 0.05,
        "claim_lease_seconds": 2.0,
    }
    update.update(changes)
    return base.model_copy(update=update)


def routed(
    number: int,
    assignee: str | None,
    org: Organisation,
    *,
    department: str = "bygg",
    subject: str | None = None,
    sensitive: tuple[SensitiveKind, ...] = (),
    replay: int = 0,
) -> MailRouted:
    """A routed event; `replay` > 0 gives the same fact under another event id (a replay)."""
    mailbox = org.departments[department].mailbox
    case_id = make_case_id(mailbox, f"m{number}@example.invalid", f"g{number}")
    member = org.staff_member(assignee) if assignee else None
    return MailRouted(
        event_id=make_event_id("routed", case_id, assignee or "", str(replay)),
        case_id=case_id,
        occurred_at=NOW,
        department=department,
        mail_class=MailClass.OFFISIELL,
        assignee=Party(address=member.email, name=member.name, id=member.id) if member else None,
        policy=AssignmentPolicy.LOAD if member else AssignmentPolicy.UNASSIGNED,
        due_at=NOW + timedelta(days=3),
        mailbox=mailbox,
        graph_message_id=f"AAMk/{number}+id=",
        subject=subject if subject is not None else f"Spørsmål nummer {number}",
        sender=Party(address="innbyggjar@example.invalid"),
        topics=["byggesak"],
        sensitive=list(sensitive),
    )


def alert(number: int, kind: AlertKind, department: str, *, case_ids: int = 0) -> Alert:
    case_id = f"case{department}{number}"
    return Alert(
        event_id=make_event_id("alert", case_id, kind.value),
        case_id=case_id if not case_ids else None,
        occurred_at=NOW,
        department=department,
        kind=kind,
        summary=f"Sak over fristen ({kind.value})",
        case_ids=[f"case{department}{n}" for n in range(case_ids)],
    )


def inbox_notices(emulator: RunningEmulator, address: str) -> list[EmailMessage]:
    """The notices in a person's inbox in the emulator (marked with the notice header)."""
    mailbox = emulator.emulator.store.mailbox(address)
    assert mailbox is not None
    found = []
    for stored in mailbox.in_folder("inbox"):
        parsed = BytesParser(policy=policy.default).parsebytes(stored.mime)
        if isinstance(parsed, EmailMessage) and parsed[NOTICE_HEADER]:
            found.append(parsed)
    return found


def outbound_notices(emulator: RunningEmulator, address: str) -> list[EmailMessage]:
    """The notices the emulator sent on to an address outside the organisation's mailboxes."""
    found = []
    for sent in emulator.emulator.postman.outbound:
        parsed = BytesParser(policy=policy.default).parsebytes(sent["mime"].encode("utf-8"))
        if address in sent["recipients"] and isinstance(parsed, EmailMessage):
            found.append(parsed)
    return found


def body_text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None and isinstance(part, EmailMessage)
    return str(part.get_content())


def matching(kind: str) -> Callable[[str, dict[str, object]], bool]:
    return lambda _subject, payload: (
        payload.get("type") == "notice_sent" and payload.get("kind") == kind
    )


async def drained(js: JetStreamContext, durable: str, timeout: float = 30.0) -> None:
    """Wait until a consumer has nothing pending and nothing unacknowledged."""

    async def empty() -> None:
        while True:
            info = await js.consumer_info(EVENTS_STREAM, durable)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(empty(), timeout)


async def nothing_waiting(js: JetStreamContext, timeout: float = 30.0) -> None:
    """Wait until no alert waits in KV for its group to be sent."""

    async def empty() -> None:
        kv = await js.key_value(NOTICES_BUCKET)
        while await live_entries(kv, "pending.>"):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(empty(), timeout)


async def starts_recorded(js: JetStreamContext, count: int, timeout: float = 30.0) -> None:
    """Wait until `count` service starts are recorded (a started service has recorded its own)."""

    async def enough() -> None:
        kv = await js.key_value(STARTS_BUCKET)
        while len(await read_starts(kv)) < count:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(enough(), timeout)
