"""Changes in Outlook as events: a human's flag or categories (`changed`), our own write-back (no
event, no Graph read), a move into Deleted Items or out of the mailbox (`deleted`, R13), a move
between other folders (nothing). Lifecycle events: subscriptionRemoved (recreate and catch up),
missed (catch up); a replayed or unconfirmed removal acts at most once. Throttling of one mailbox
delays only that mailbox."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx
from msgraph.generated.models.followup_flag import FollowupFlag
from msgraph.generated.models.followup_flag_status import FollowupFlagStatus
from msgraph.generated.models.message import Message
from msgraph.generated.users.item.messages.item.move.move_post_request_body import (
    MovePostRequestBody,
)
from nats.aio.client import Client
from nats.js import JetStreamContext

from devtools.graph_emulator import RunningEmulator
from services.common.graph import make_graph_client
from services.common.jetstream import INGEST_BUCKET, WRITEBACKS_BUCKET
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.common.writeback import pending_marker, writeback_key, written_marker
from services.ingest.config import IngestSettings
from services.ingest.state import IngestState, SubscriptionRecord
from services.ingest.work import LIFECYCLE_SUBJECT, LifecycleWork
from tests.graph_emulator.conftest import deliver, raw_mail, wait_until
from tests.ingest.conftest import QUICK, running_ingest, send_many, work_drained
from tests.ingest.test_webhook import subscription_of
from tests.support.events import event_log

POST = "post@ha.kommune.no"
BYGG = "bygg@ha.kommune.no"


async def message_reads(admin: httpx.AsyncClient) -> int:
    routes = (await admin.get("/_emulator/requests")).json()["byRoute"]
    return int(routes.get("GET /v1.0/users/{user}/messages/{message}", 0))


async def test_human_changes_and_deletions_become_events_and_our_writes_do_not(
    js: JetStreamContext,
    connect_as: Callable[[str], Awaitable[Client]],
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
) -> None:  # R11, R12, R13
    graph = make_graph_client(emulator.graph_url)
    messages = graph.users.by_user_id(POST).messages
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator),
    ):
        ids = [await deliver(admin, POST, raw_mail(f"change {n}")) for n in range(4)]
        received = await events.wait_for(lambda _s, p: p["type"] == "received", 4)
        case_of = {p["graph_message_id"]: p["case_id"] for _s, p in received}
        await wait_until(lambda: work_drained(js))

        # A caseworker completes the flag in Outlook.
        done = Message(flag=FollowupFlag(flag_status=FollowupFlagStatus.Complete))
        await messages.by_message_id(ids[0]).patch(done)
        ((_s, changed),) = await events.wait_for(lambda _s, p: p["type"] == "changed")
        assert changed["case_id"] == case_of[ids[0]]
        assert changed["flag_status"] == "complete"

        # The router's write-back: it records the change key its PATCH got; ingest skips it
        # without reading the message again.
        await wait_until(lambda: work_drained(js))
        reads_before = await message_reads(admin)
        written = await messages.by_message_id(ids[1]).patch(
            Message(categories=["Tildelt: Elin Tjessem"])
        )
        kv = await (await connect_as("router")).jetstream().key_value(WRITEBACKS_BUCKET)
        await kv.put(writeback_key(ids[1]), written.change_key.encode())
        # Into Deleted Items (Graph's DELETE), then gone for good, and a move between other
        # folders, which is no deletion.
        await messages.by_message_id(ids[2]).delete()
        await messages.by_message_id(ids[3]).move.post(MovePostRequestBody(destination_id="drafts"))
        # Only once the move is seen: deleting at once would leave nothing to see but a removal.
        await events.wait_for(lambda _s, p: p["type"] == "deleted")
        await messages.by_message_id(ids[2]).delete()
        deleted = await events.wait_for(lambda _s, p: p["type"] == "deleted", 2)
        await wait_until(lambda: work_drained(js))
    assert [(p["case_id"], p["how"]) for _s, p in deleted] == [
        (case_of[ids[2]], "moved_to_deleted_items"),
        (case_of[ids[2]], "removed"),
    ]
    assert len(events.matching(lambda _s, p: p["type"] == "changed")) == 1
    assert len(events.matching(lambda _s, p: p["type"] == "deleted")) == 2
    # Reads after the write-back: none for ids[1]; one per move (the move's second notification
    # carries the change key already seen) and one when ids[2] is gone for good.
    assert await message_reads(admin) - reads_before == 3


async def test_a_person_putting_back_what_our_write_replaced_is_heard(
    js: JetStreamContext,
    connect_as: Callable[[str], Awaitable[Client]],
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
) -> None:  # R11, R17
    graph = make_graph_client(emulator.graph_url)
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator),
    ):
        message_id = await deliver(admin, POST, raw_mail("tilbake"))
        ((_s, received),) = await events.wait_for(lambda _s, p: p["type"] == "received")
        # The version read travels with `received`: the router's first write is conditional on it.
        assert received["change_key"] and received["flag_status"] == "notFlagged"
        item = graph.users.by_user_id(POST).messages.by_message_id(message_id)
        # A caseworker takes the case: ingest reads "Tildelt: Elin Tjessem".
        await item.patch(Message(categories=["Tildelt: Elin Tjessem"]))
        await events.wait_for(lambda _s, p: p["type"] == "changed")
        await wait_until(lambda: work_drained(js))
        # The router gives it to someone else, as its write-back does: the pending mark, the
        # PATCH, then the change key and what it wrote. Ingest skips that echo unread.
        kv = await (await connect_as("router")).jetstream().key_value(WRITEBACKS_BUCKET)
        await kv.put(writeback_key(message_id), pending_marker(time.time()))
        ours = await item.patch(Message(categories=["Tildelt: Gerd Skjærpe"]))
        written = written_marker(ours.change_key, ["Tildelt: Gerd Skjærpe"], "notFlagged")
        await kv.put(writeback_key(message_id), written)
        await wait_until(lambda: work_drained(js))
        # She takes it back: exactly what ingest last read, yet a change all the same.
        await item.patch(Message(categories=["Tildelt: Elin Tjessem"]))
        changed = await events.wait_for(lambda _s, p: p["type"] == "changed", 2)
    assert changed[1][1]["categories"] == ["Tildelt: Elin Tjessem"]


async def test_subscription_removed_is_recreated_and_missed_mail_caught_up(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
) -> None:
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator),
    ):
        old = await subscription_of(js, "bygg")
        response = await admin.post(
            f"/_emulator/subscriptions/{old.id}/lifecycle", json={"event": "subscriptionRemoved"}
        )
        assert response.status_code == 202
        # Mail that arrives while nobody is subscribed: only delta can find it.
        await deliver(admin, BYGG, raw_mail("while unsubscribed", to=BYGG))

        async def replaced() -> bool:
            return (await subscription_of(js, "bygg")).id != old.id

        await wait_until(replaced, within=10)
        await events.wait_for(lambda _s, p: p["subject"] == "while unsubscribed", timeout=10)
        new = await subscription_of(js, "bygg")
        assert new.id in emulator.emulator.registry.subscriptions
        assert old.id not in emulator.emulator.registry.subscriptions

        # `missed`: notifications were lost; delta catches up.
        await admin.put(f"/_emulator/mailboxes/{BYGG}/faults", json={"dropNotifications": 1.0})
        await deliver(admin, BYGG, raw_mail("missed one", to=BYGG))
        await admin.post(f"/_emulator/subscriptions/{new.id}/lifecycle", json={"event": "missed"})
        await events.wait_for(lambda _s, p: p["subject"] == "missed one", timeout=10)


async def test_throttling_one_mailbox_delays_only_that_mailbox(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
) -> None:
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator),
    ):
        throttled = {"throttle": 1.0, "retryAfter": 2}
        assert (
            await admin.put(f"/_emulator/mailboxes/{BYGG}/faults", json=throttled)
        ).status_code == 200
        await send_many(
            emulator.smtp_port,
            [(BYGG, raw_mail(f"slow {n}", to=BYGG)) for n in range(5)]
            + [(POST, raw_mail(f"fast {n}")) for n in range(5)],
        )
        fast = await events.wait_for(lambda _s, p: p["mailbox"] == POST, 5, timeout=10)
        assert events.matching(lambda _s, p: p["mailbox"] == BYGG) == []
        assert len(fast) == 5
        statuses = (await admin.get("/_emulator/requests")).json()["byStatus"]
        assert statuses.get("429", 0) >= 1
        await admin.delete(f"/_emulator/mailboxes/{BYGG}/faults")
        await events.wait_for(lambda _s, p: p["mailbox"] == BYGG, 5, timeout=15)
    # Retry-After was honoured: Graph was not hammered while it said wait.
    assert statuses["429"] <= 10


async def test_a_replayed_subscription_removed_acts_at_most_once_and_only_when_graph_confirms(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:  # issue 16, finding 7
    ingest_js = (await connect_as("ingest")).jetstream()

    async def replay(subscription: SubscriptionRecord, times: int) -> None:
        """Through the webhook (as Graph retries or an attacker replays), then straight into the
        work stream, past the webhook's dedupe (as after its window)."""
        item = {
            "subscriptionId": subscription.id,
            "clientState": subscription.client_state,
            "lifecycleEvent": "subscriptionRemoved",
        }
        for _ in range(times):
            response = await client.post("/graph/lifecycle", json={"value": [item]})
            assert response.status_code == 202
        work = LifecycleWork(
            department="bygg",
            mailbox=BYGG,
            subscription_id=subscription.id,
            event="subscriptionRemoved",
        )
        for _ in range(times):
            await ingest_js.publish(
                LIFECYCLE_SUBJECT.format(department="bygg"), work.model_dump_json().encode()
            )
        await wait_until(lambda: work_drained(js), within=20)

    async def graph_calls() -> tuple[int, int]:
        """Subscriptions created, and bygg's delta requests, since the log was reset."""
        routes = (await admin.get("/_emulator/requests")).json()
        created = int(routes["byRoute"].get("POST /v1.0/subscriptions", 0))
        deltas = sum(
            1
            for r in routes["recent"]
            if r["mailbox"] == BYGG and r["route"].startswith("GET") and "delta" in r["route"]
        )
        return created, deltas

    async def caught_up() -> bool:
        """Every mailbox's first delta rounds are done: the upkeep reads no more until the
        delta interval, so what the log counts next is the lifecycle events' doing."""
        state = IngestState(await js.key_value(INGEST_BUCKET))
        folders = IngestSettings().delta_folders
        rounds = [await state.delta(d, f) for d in org.departments for f in folders]
        return all(record is not None for record, _revision in rounds)

    async with running_ingest(settings, org, emulator) as (_url, client):
        await wait_until(caught_up, within=20)
        await wait_until(lambda: work_drained(js), within=20)
        old = await subscription_of(js, "bygg")
        await admin.post("/_emulator/requests/reset")

        # Graph still has the subscription: a forged or replayed removal changes nothing.
        await replay(old, 3)
        assert (await subscription_of(js, "bygg")).id == old.id
        assert await graph_calls() == (0, 0)
        assert old.id in emulator.emulator.registry.subscriptions

        # Graph removed it: one successor and one catch-up, however often the event comes.
        await admin.post(
            f"/_emulator/subscriptions/{old.id}/lifecycle", json={"event": "subscriptionRemoved"}
        )
        await replay(old, 3)

        async def replaced() -> bool:
            return (await subscription_of(js, "bygg")).id != old.id

        await wait_until(replaced, within=20)
        await wait_until(lambda: work_drained(js), within=20)
        created, deltas = await graph_calls()
        assert created == 1
        assert deltas == len(IngestSettings().delta_folders)


async def test_a_mailbox_that_stays_unwatched_raises_one_subscription_alert(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
) -> None:  # issue 17: told to the supervisors and operations
    quick = QUICK.model_copy(update={"subscription_alert_after_seconds": 0.5})
    async with (
        event_log(settings, "sakspost.alert.subscription_failed.>") as alerts,
        # Catch-up due at every upkeep tick, so that each tick meets the failing mailbox.
        running_ingest(settings, org, emulator, quick, delta_interval_seconds=0.5),
    ):
        # Graph keeps failing the mailbox: nothing watches it.
        failing = {"serverError": 1.0, "serverErrorStatus": 503}
        await admin.put(f"/_emulator/mailboxes/{BYGG}/faults", json=failing)
        ((subject, alert),) = await alerts.wait_for(lambda _s, _p: True, timeout=30)
        # Later failing ticks of the same run raise nothing more.
        refused = await refusals(admin)
        await wait_until(lambda: more_refusals(admin, refused + 3), within=20)
        await admin.delete(f"/_emulator/mailboxes/{BYGG}/faults")
    assert subject == "sakspost.alert.subscription_failed.bygg"
    assert alert["severity"] == "critical" and alert["case_id"] is None
    assert len(alerts.matching(lambda _s, _p: True)) == 1


async def refusals(admin: httpx.AsyncClient) -> int:
    return int((await admin.get("/_emulator/requests")).json()["byStatus"].get("503", 0))


async def more_refusals(admin: httpx.AsyncClient, count: int) -> bool:
    return await refusals(admin) >= count
