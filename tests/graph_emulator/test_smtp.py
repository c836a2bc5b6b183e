"""SMTP intake: byte-for-byte storage, notification within a second, 550 for strangers, and
delta finding every mail when notifications are lost (R13)."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from msgraph.generated.models.subscription import Subscription
from msgraph.graph_service_client import GraphServiceClient

from devtools.graph_emulator import RunningEmulator
from services.common.graph import get_mime
from tests.conftest import scaled
from tests.graph_emulator.conftest import (
    OTHER_SHARED,
    SHARED,
    Listener,
    next_item,
    raw_mail,
    send_smtp,
)
from tests.graph_emulator.test_delta import delta_round


async def subscribe_inbox(graph: GraphServiceClient, listener: Listener) -> None:
    await graph.subscriptions.post(
        Subscription(
            change_type="created",
            notification_url=f"{listener.url}/notify",
            resource=f"users/{SHARED}/mailFolders('Inbox')/messages",
            expiration_date_time=datetime.now(UTC) + timedelta(days=2),
            client_state="s",
        )
    )


async def test_smtp_mail_is_stored_byte_for_byte_and_notified_within_a_second(
    emulator: RunningEmulator, graph: GraphServiceClient, listener: Listener
) -> None:  # R13
    await subscribe_inbox(graph, listener)
    raw = raw_mail("søknad om løyve", extra="Received: from x\r\n  by y; folded\r\n")
    started = asyncio.get_running_loop().time()
    await send_smtp(emulator.smtp_port, "kari@example.org", [SHARED, OTHER_SHARED], raw)
    note = await next_item(listener.notifications, within=1.0)
    assert asyncio.get_running_loop().time() - started < 1.0
    assert await get_mime(graph, SHARED, note["resourceData"]["id"]) == raw
    other = await graph.users.by_user_id(OTHER_SHARED).messages.get()
    assert [await get_mime(graph, OTHER_SHARED, m.id) for m in other.value] == [raw]


async def test_unknown_recipients_are_refused_with_550(emulator: RunningEmulator) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await send_smtp(
            emulator.smtp_port, "kari@example.org", ["ukjend@ha.kommune.no"], raw_mail("x")
        )
    assert refused.value.recipients["ukjend@ha.kommune.no"][0] == 550
    partly = await send_smtp(
        emulator.smtp_port, "kari@example.org", [SHARED, "ukjend@ha.kommune.no"], raw_mail("y")
    )
    assert partly["ukjend@ha.kommune.no"][0] == 550


async def test_with_a_fifth_of_notifications_dropped_delta_still_lists_every_mail(
    emulator: RunningEmulator,
    graph: GraphServiceClient,
    admin: httpx.AsyncClient,
    listener: Listener,
) -> None:  # R13
    await subscribe_inbox(graph, listener)
    response = await admin.put(
        f"/_emulator/mailboxes/{SHARED}/faults", json={"dropNotifications": 0.2}
    )
    assert response.status_code == 200
    count = scaled(200, minimum=20)
    sent = {f"<drop-{n}@example.org>" for n in range(count)}
    for message_id in sorted(sent):
        await send_smtp(
            emulator.smtp_port, "kari@example.org", [SHARED], raw_mail("d", message_id=message_id)
        )
    expected_notes = count - count // 5
    notified = {
        (await next_item(listener.notifications, 2.0))["resourceData"]["id"]
        for _ in range(expected_notes)
    }
    stats = (await admin.get("/_emulator/notifications")).json()
    assert stats["dropped"] == count // 5
    items, _, _ = await delta_round(graph, None, page_size=50)
    assert {m.internet_message_id for m in items} == sent
    assert notified < {m.id for m in items}
