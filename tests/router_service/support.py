"""Driving the router as ingest and the classifier would: mail delivered into the Graph emulator,
then its `received` (and `classified`, `changed`, `deleted`) events published on the real server."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from msgraph.generated.models.automatic_replies_setting import AutomaticRepliesSetting
from msgraph.generated.models.automatic_replies_status import AutomaticRepliesStatus
from msgraph.generated.models.mailbox_settings import MailboxSettings
from msgraph.graph_service_client import GraphServiceClient
from nats.js import JetStreamContext

from schemas.events import Event, MailClassified, MailReceived
from schemas.identity import make_event_id
from schemas.vocab import MailClass, SensitiveKind
from services.common.orgconfig import Organisation
from services.common.received import build_received
from services.common.settings import Settings
from tests.support.environment import nats_environment
from tests.support.publishing import EventInjector
from tests.support.signing import TEST_KEYS
from tests.support.writebacks import written_back

WAIT_SECONDS = 20.0


@dataclass
class FakeClock:
    """The router's clock in a test: it says what the test says."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def mail(
    subject: str,
    *,
    to: str,
    message_id: str,
    sender: str = "kari@example.org",
    in_reply_to: str | None = None,
) -> bytes:
    thread = (
        f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n" if in_reply_to else ""
    )
    return (
        f"From: Kari Nordmann <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Fri, 22 May 2026 10:00:00 +0200\r\nMessage-ID: <{message_id}>\r\n{thread}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hei, dette gjeld {subject}.\r\n"
    ).encode()


@dataclass
class Mailroom:
    """`js` is admin's (it reads what the router keeps); each event is published by its stage."""

    org: Organisation
    js: JetStreamContext
    stages: EventInjector
    graph: GraphServiceClient
    admin: httpx.AsyncClient

    async def publish(self, event: Event) -> None:
        await self.stages.event(event)

    async def deliver(self, mailbox: str, raw: bytes) -> str:
        answer = await self.admin.post(f"/_emulator/mailboxes/{mailbox}/deliver", content=raw)
        answer.raise_for_status()
        return str(answer.json()["id"])

    async def receive(
        self, mailbox: str, raw: bytes, received_at: datetime | None = None
    ) -> MailReceived:
        """Deliver a mail and publish its `received`, as ingest does."""
        graph_id = await self.deliver(mailbox, raw)
        message = await self.graph.users.by_user_id(mailbox).messages.by_message_id(graph_id).get()
        event = build_received(
            self.org,
            mailbox,
            raw,
            graph_id,
            received_at or datetime.now(UTC),
            conversation_id=message.conversation_id if message else None,
            keys=TEST_KEYS,
            change_key=message.change_key if message else None,
            categories=list(message.categories or []) if message else [],
            flag_status=message.flag.flag_status.value if message and message.flag else None,
        )
        await self.publish(event)
        return event

    async def classify(
        self,
        received: MailReceived,
        mail_class: MailClass,
        *,
        department: str | None = None,
        confidence: float = 0.95,
        topics: tuple[str, ...] = (),
        sensitive: tuple[SensitiveKind, ...] = (),
    ) -> MailClassified:
        event = MailClassified(
            event_id=make_event_id("classified", received.case_id, "test"),
            case_id=received.case_id,
            occurred_at=received.received_at,
            department=received.department,
            mail_class=mail_class,
            confidence=confidence,
            topics=list(topics),
            sensitive=list(sensitive),
            suggested_department=department,
        )
        await self.publish(event)
        return event

    async def written(self, received: MailReceived, previous: str | None = None) -> str:
        """Wait until the router wrote the message back (a change key other than `previous`)."""
        return await written_back(self.js, received.graph_message_id, previous, WAIT_SECONDS)

    async def categories(self, received: MailReceived) -> list[str]:
        message = await self._message(received)
        return list(message.categories or [])

    async def flag_status(self, received: MailReceived) -> str | None:
        message = await self._message(received)
        return str(message.flag.flag_status.value) if message.flag else None

    async def _message(self, received: MailReceived) -> Any:
        item = self.graph.users.by_user_id(received.mailbox).messages
        return await item.by_message_id(received.graph_message_id).get()

    async def set_away(self, staff_email: str) -> None:
        settings = MailboxSettings(
            automatic_replies_setting=AutomaticRepliesSetting(
                status=AutomaticRepliesStatus.AlwaysEnabled
            )
        )
        await self.graph.users.by_user_id(staff_email).mailbox_settings.patch(settings)


async def cli(settings: Settings, *args: str, token: str) -> tuple[int, str]:
    """Run `sakspost cases …` as a supervisor would: its own process, talking only NATS, signed
    in with `token` (what `sakspost login` would give it)."""
    # `cases` logs in as operator, from the credentials folder.
    env = nats_environment(settings, SAKSPOST_LANGUAGE="nn", COLUMNS="200", SAKSPOST_TOKEN=token)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from sakspost.cases import cases_app; cases_app()",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode("utf-8")
