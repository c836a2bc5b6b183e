"""Fixtures: the overview in-process on a real nats-server and HTTP port, the Graph emulator as
Entra ID, and sessions made from tokens the emulator's own key signs (the real sign-in through
the emulator's login page is driven by the browser tests)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from nats.aio.client import Client
from pydantic import SecretStr

from devtools.graph_emulator import RunningEmulator, run_emulator
from devtools.graph_emulator.emulator import APPLICATION_ID
from schemas.events import Party
from schemas.vocab import MailClass, SensitiveKind, Status
from services.common.jetstream import CASES_BUCKET
from services.common.natsserver import free_port
from services.common.orgconfig import Organisation
from services.common.permissions import OVERVIEW_BUCKET
from services.common.settings import Settings
from services.overview.app import build
from services.overview.sessions import SESSION_COOKIE, Session, SessionStore, new_id
from services.overview.settings import OverviewSettings
from services.router.record import CaseRecord, HistoryEntry
from tests.support.connections import Connect
from tests.support.tokens import token_for

SUPERVISOR = "rune.bo"  # teknisk
CASEWORKER = "anders.moi"  # teknisk
OTHER_DEPARTMENT = "stab"


@dataclass(frozen=True)
class RunningOverview:
    url: str
    emulator: RunningEmulator
    org: Organisation
    store: SessionStore
    router: Client

    def token(self, staff_id: str, lifetime: float = 3600) -> str:
        """An ID token the emulator's Entra ID would issue to this staff member at sign-in."""
        member = self.org.staff_member(staff_id)
        return token_for(
            self.emulator,
            member.email,
            name=member.name,
            nonce=new_id(),
            exp=int(time.time() + lifetime),
        )

    async def session(self, staff_id: str) -> tuple[str, Session]:
        """A signed-in session of `staff_id`, stored as the callback stores one."""
        member = self.org.staff_member(staff_id)
        token = self.token(staff_id)
        session = Session(
            actor_id=member.id,
            actor_name=member.name,
            actor_kind="person",
            id_token=SecretStr(token),
            id_token_expires=time.time() + 3600,
            language="en",
            csrf=new_id(),
        )
        session_id = new_id()
        await self.store.put(session_id, session)
        return session_id, session

    async def client(self, staff_id: str | None) -> tuple[httpx.AsyncClient, Session | None]:
        cookies = {}
        session = None
        if staff_id is not None:
            session_id, session = await self.session(staff_id)
            cookies[SESSION_COOKIE] = session_id
        return httpx.AsyncClient(base_url=self.url, cookies=cookies, timeout=30), session

    async def put_case(self, record: CaseRecord) -> None:
        """Write a case record as the router does (the router is the bucket's only writer)."""
        kv = await self.router.jetstream().key_value(CASES_BUCKET)
        await kv.put(f"case.{record.case_id}", _stored(record))


def _stored(record: CaseRecord) -> bytes:
    return ('{"record": ' + record.model_dump_json() + ', "outbox": []}').encode()


def _an_hour_ago_today(now: datetime) -> datetime:
    """An hour before `now`, but not before the organisation's day began: a case made in a day's
    first hour must still fall in today's week and month (reports, "ferdig today")."""
    zone = ZoneInfo(Organisation.model_fields["timezone"].default)
    day_began = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - timedelta(hours=1), day_began.astimezone(UTC))


def case_record(
    case_id: str,
    *,
    department: str = "teknisk",
    assignee: str | None = None,
    sensitive: bool = False,
    subject: str = "Vasslekkasje i Storgata",
    status: Status | None = None,
    alerts: tuple[str, ...] = (),
) -> CaseRecord:
    now = datetime.now(UTC)
    received = _an_hour_ago_today(now)
    return CaseRecord.model_validate(
        {
            "case_id": case_id,
            "mailbox": f"{department}@ha.kommune.no",
            "mailbox_department": department,
            "department": department,
            "graph_message_id": "g-" + case_id,
            "received_at": received,
            "mime_sha256": "0" * 64,
            "subject": subject,
            "sender": Party(address="innbyggjar@example.org"),
            "mail_class": MailClass.OFFISIELL,
            "sensitive": [SensitiveKind.HELSE] if sensitive else [],
            "status": status or (Status.TILDELT if assignee else Status.NY),
            "assignee": assignee,
            "due_at": now + timedelta(days=2),
            "alerts_sent": list(alerts),
            "history": [
                HistoryEntry(at=received, who="sakspost", what="received"),
                HistoryEntry(
                    at=min(received + timedelta(minutes=1), now),
                    who="sakspost",
                    what="routed",
                    why="words: vasslekkasje; load: fewest open cases",
                ),
            ],
        }
    )


@pytest.fixture
async def emulator(org: Organisation) -> AsyncIterator[RunningEmulator]:
    async with run_emulator(org, "127.0.0.1", 0, 0) as running:
        yield running


Launch = Callable[[], AbstractAsyncContextManager[RunningOverview]]


@pytest.fixture
def launch(
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    connect_as: Connect,
) -> Launch:
    """`async with launch() as overview:` runs the overview for the block (inside the test's
    own task, as FastStream's lifespan requires)."""

    @asynccontextmanager
    async def running() -> AsyncIterator[RunningOverview]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        configured = settings.model_copy(
            update={
                "auth_tenant_id": emulator.emulator.tenant_id,
                "auth_client_id": APPLICATION_ID,
                "graph_authority": emulator.login_url,
                "graph_authority_ca_file": emulator.login_ca,
                "http_port": port,
            }
        )
        own = OverviewSettings(client_secret=SecretStr("test-secret"), public_url=url)
        service = build(configured, org, own)
        async with service.running():
            server = uvicorn.Server(
                uvicorn.Config(
                    service.app, host="127.0.0.1", port=port, lifespan="off", log_config=None
                )
            )
            serving = asyncio.create_task(server.serve())
            try:
                async with httpx.AsyncClient(base_url=url) as probe:
                    while not await _ready(probe):
                        await asyncio.sleep(0.05)
                own_connection = await connect_as("overview")
                store = SessionStore(await own_connection.jetstream().key_value(OVERVIEW_BUCKET))
                yield RunningOverview(url, emulator, org, store, await connect_as("router"))
            finally:
                server.should_exit = True
                await serving

    return running


async def _ready(probe: httpx.AsyncClient) -> bool:
    try:
        return (await probe.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False
