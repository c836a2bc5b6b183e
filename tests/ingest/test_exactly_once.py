"""Every mail delivered over SMTP to the eight addresses becomes exactly one `received` event with
the right mailbox, Message-ID and MIME hash: plainly, with 20 % of notifications lost (delta finds
them) and with every notification delivered twice (R4, R13)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from nats.js import JetStreamContext
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devtools.graph_emulator import RunningEmulator
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from tests.conftest import scaled
from tests.graph_emulator.conftest import free_socket, serve, wait_until
from tests.ingest.conftest import (
    QUICK,
    SHARED_ADDRESSES,
    running_ingest,
    send_many,
    spread_mails,
    work_drained,
)
from tests.support.events import EventLog, event_log


def stored_hashes(emulator: RunningEmulator) -> dict[tuple[str, str], str]:
    """(mailbox, Message-ID) -> SHA-256 of the bytes Graph's $value returns."""
    hashes = {}
    for address in SHARED_ADDRESSES:
        mailbox = emulator.emulator.store.mailbox(address)
        assert mailbox is not None
        for message in mailbox.messages.values():
            key = (address, str(message.fields.internet_message_id).strip("<>"))
            hashes[key] = hashlib.sha256(message.mime).hexdigest()
    return hashes


async def assert_exactly_once(
    events: EventLog, js: JetStreamContext, emulator: RunningEmulator, count: int
) -> None:
    await events.wait_for(lambda _s, p: p["type"] == "received", count, timeout=60)
    await wait_until(lambda: work_drained(js), within=30)
    received = [p for _s, p in events.matching(lambda _s, p: p["type"] == "received")]
    assert len(received) == count
    assert len({p["case_id"] for p in received}) == count
    expected = stored_hashes(emulator)
    assert len(expected) == count
    seen = {(p["mailbox"], p["internet_message_id"]): p["mime_sha256"] for p in received}
    assert seen == expected


async def test_every_mail_becomes_one_received_event(
    js: JetStreamContext, settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:  # R4, R13
    count = scaled(500)
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator),
    ):
        await send_many(emulator.smtp_port, spread_mails(count, "plain"))
        await assert_exactly_once(events, js, emulator, count)


async def test_delta_finds_what_notifications_lost(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
) -> None:  # R13
    count = scaled(500)
    for address in SHARED_ADDRESSES:
        response = await admin.put(
            f"/_emulator/mailboxes/{address}/faults", json={"dropNotifications": 0.2}
        )
        assert response.status_code == 200
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator, delta_interval_seconds=1.0),
    ):
        await send_many(emulator.smtp_port, spread_mails(count, "dropped"))
        await assert_exactly_once(events, js, emulator, count)
    # The emulator drops exactly every fifth notification per mailbox.
    per_mailbox = [len(range(i, count, len(SHARED_ADDRESSES))) for i in range(8)]
    stats = (await admin.get("/_emulator/notifications")).json()
    assert stats["dropped"] == sum(n // 5 for n in per_mailbox) > 0


@asynccontextmanager
async def doubling_proxy(target: str) -> AsyncIterator[str]:
    """Delivers every notification POST twice to `target` (Graph retries can do that)."""
    client = httpx.AsyncClient(base_url=target, trust_env=False)

    async def forward(request: Request) -> Response:
        body = await request.body()
        headers = {"content-type": request.headers.get("content-type", "")}
        url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        copies = 1 if "validationToken" in request.query_params else 2
        answers = [await client.post(url, content=body, headers=headers) for _ in range(copies)]
        return Response(answers[0].content, answers[0].status_code, media_type="text/plain")

    app = Starlette(routes=[Route("/{path:path}", forward, methods=["POST"])])
    try:
        async with serve(app) as port:
            yield f"http://127.0.0.1:{port}"
    finally:
        await client.aclose()


async def test_notifications_delivered_twice_give_one_event(
    js: JetStreamContext, settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:  # R13
    count = scaled(500)
    ingest_socket = free_socket()
    target = f"http://127.0.0.1:{ingest_socket.getsockname()[1]}"
    async with doubling_proxy(target) as proxy:
        doubled = QUICK.model_copy(update={"public_url": proxy})
        async with (
            event_log(settings, "sakspost.mail.>") as events,
            running_ingest(settings, org, emulator, doubled, sock=ingest_socket),
        ):
            await send_many(emulator.smtp_port, spread_mails(count, "twice"))
            await assert_exactly_once(events, js, emulator, count)
