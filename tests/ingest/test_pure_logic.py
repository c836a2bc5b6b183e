"""Ingest's pure logic without a broker: judging notification items, reading the body, what a
message's new state means, and the upkeep lease on a real KV bucket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client

from schemas.vocab import DeletionKind
from services.common.jetstream import INGEST_BUCKET
from services.common.writeback import (
    PENDING_SECONDS,
    pending_marker,
    read_writeback,
    written_marker,
)
from services.common.writeback import graph_id_token as id_token
from services.ingest.changes import Transition, gone, is_received_mail, seen_again
from services.ingest.notifications import KnownSubscription, Refused, judge, parse_batch
from services.ingest.snapshot import MessageSnapshot
from services.ingest.state import MessageRecord
from services.ingest.upkeep import Lease
from services.ingest.work import LifecycleWork, lifecycle_work_id

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
LIVE = KnownSubscription("sub-1", "post", "post@ha.kommune.no", "s3cret", NOW + timedelta(days=1))
OLD = KnownSubscription("sub-2", "bygg", "bygg@ha.kommune.no", "s3cret", NOW - timedelta(hours=1))


def item(subscription: str = "sub-1", state: str | None = "s3cret", **extra: object) -> object:
    return {
        "subscriptionId": subscription,
        "clientState": state,
        "changeType": "created",
        "resourceData": {"id": "m1", "@odata.etag": 'W/"CK1"'},
        **extra,
    }


def test_judge_keeps_only_live_subscriptions_with_the_right_client_state() -> None:
    judged = judge(
        [item(), item(state="wrong"), item(state=None), item("sub-2"), item("nope"), 42],
        {"sub-1": LIVE, "sub-2": OLD},
        NOW,
    )
    assert [a.subscription.department for a in judged.accepted] == ["post"]
    assert judged.accepted[0].item.change_key == "CK1"
    assert judged.dropped == {
        "forged": 2,
        "expired_subscription": 1,
        "unknown_subscription": 1,
        "malformed": 1,
    }


def test_lifecycle_items_need_no_resource_data() -> None:
    lifecycle = {"subscriptionId": "sub-1", "clientState": "s3cret", "lifecycleEvent": "missed"}
    judged = judge([lifecycle], {"sub-1": LIVE}, NOW)
    assert judged.accepted[0].item.lifecycle_event == "missed"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", '"value" list'),
        (b'{"value": {}}', '"value" list'),
        (b'{"value": [], "validationTokens": [1]}', '"validationTokens"'),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"value": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}', "nested"),
    ],
)
def test_bad_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        parse_batch(body, max_depth=16, max_items=100_000)
    assert refused.value.status == 400
    assert reason in refused.value.reason


def snapshot(folder_id: str = "f", categories: list[str] | None = None, flag: str = "notFlagged",
             change_key: str = "CK2", draft: bool = False) -> MessageSnapshot:  # fmt: skip
    return MessageSnapshot(
        "m1", change_key, "x@y", None, NOW, folder_id, categories or [], flag, draft
    )


RECORD = MessageRecord(
    case_id="case1",
    department="post",
    mailbox="post@ha.kommune.no",
    folder="other",
    categories=[],
    flag_status="notFlagged",
    change_key="CK1",
)


def test_a_move_into_deleted_items_is_a_deletion_and_other_moves_are_not() -> None:  # R13
    into_bin = seen_again(RECORD, snapshot(), "deleteditems", "m1", None, NOW)
    assert [e.event.value for e in into_bin.events] == ["deleted"]
    assert into_bin.events[0].how == DeletionKind.MOVED_TO_DELETED_ITEMS  # type: ignore[attr-defined]
    assert seen_again(RECORD, snapshot(), "sentitems", "m1", None, NOW).events == ()
    back = seen_again(into_bin.record, snapshot(), "other", "m1", None, NOW)
    assert back.events == () and back.record.folder == "other"


def test_human_changes_are_events_and_our_own_write_back_is_not() -> None:
    human = seen_again(RECORD, snapshot(flag="complete"), "other", "m1", "CK9", NOW)
    assert [e.event.value for e in human.events] == ["changed"]
    ours = seen_again(RECORD, snapshot(categories=["Tildelt: A"]), "other", "m1", "CK2", NOW)
    assert ours.events == () and ours.record.categories == ["Tildelt: A"]
    # Categories compare ignoring case, as Outlook does.
    record = RECORD.model_copy(update={"categories": ["tildelt: a"]})
    assert (
        seen_again(record, snapshot(categories=["Tildelt: A"]), "other", "m1", None, NOW).events
        == ()
    )


def test_a_person_putting_back_what_our_write_replaced_is_a_change() -> None:  # R11, R17
    # Ingest read "Tildelt: A" (CK1); the router wrote "Tildelt: B" (CK2), whose echo ingest skips
    # unread; a caseworker puts "Tildelt: A" back (CK3). The record alone sees no difference.
    record = RECORD.model_copy(update={"categories": ["Tildelt: A"], "flag_status": "flagged"})

    def seen(record: MessageRecord, categories: list[str], change_key: str) -> Transition:
        shown = snapshot(categories=categories, flag="flagged", change_key=change_key)
        return seen_again(
            record, shown, "other", "m1", "CK2", NOW,
            our_categories=("Tildelt: B",), our_flag="flagged",
        )  # fmt: skip

    changed = seen(record, ["Tildelt: A"], "CK3")
    assert [e.event.value for e in changed.events] == ["changed"]
    assert changed.events[0].categories == ["Tildelt: A"]  # type: ignore[attr-defined]
    # Our write itself, or the message just as we left it (read, say), is no change.
    assert seen(record, ["Tildelt: B"], "CK2").events == ()
    as_we_left_it = record.model_copy(update={"categories": ["Tildelt: B"], "change_key": "CK2"})
    assert seen(as_we_left_it, ["Tildelt: B"], "CK4").events == ()


def test_gone_is_one_deletion() -> None:  # R13
    first = gone(RECORD, "m1", NOW)
    assert [e.how for e in first.events] == [DeletionKind.REMOVED]  # type: ignore[attr-defined]
    assert gone(first.record, "m1", NOW).events == ()


def test_only_received_mail_counts_as_received() -> None:
    assert is_received_mail(snapshot(), "other")
    assert is_received_mail(snapshot(), "deleteditems")
    assert not is_received_mail(snapshot(), "sentitems")
    assert not is_received_mail(snapshot(draft=True), "other")


def test_graph_ids_become_kv_tokens() -> None:
    assert id_token("AAkALgAAA-_=") == "AAkALgAAA-_="
    assert id_token("a/b+c").startswith("h") and len(id_token("a/b+c")) == 65


async def test_the_lease_has_one_holder_and_passes_on_when_it_runs_out(
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:
    # The replicas of ingest contend for the lease in ingest's own bucket.
    kv = await (await connect_as("ingest")).jetstream().key_value(INGEST_BUCKET)
    first, second = Lease(kv, "a", 0.3), Lease(kv, "b", 0.3)
    assert await first.hold()
    assert not await second.hold()
    assert await first.hold()  # renewing
    await first.release()
    assert await second.hold()
    assert not await first.hold()
    # A holder that stops renewing (here: a lease that runs out at once) is taken over.
    silent = Lease(kv, "b", 0.0)
    assert await silent.hold()
    assert await first.hold()


def test_a_pending_write_back_holds_its_echo_back_until_it_expires() -> None:
    marker = pending_marker(1000.0)
    assert read_writeback(marker, 1001.0).pending
    assert read_writeback(marker, 1000.0 + PENDING_SECONDS + 1).pending is False
    written = read_writeback(b"CQAAABYAAAB", 1001.0)
    assert written.change_key == "CQAAABYAAAB"
    assert not written.pending
    assert read_writeback(None, 0.0) == read_writeback(b"", 0.0)
    # After a write the router stores what it wrote too; a bare change key still reads.
    full = read_writeback(written_marker("CK2", ["Tildelt: Åse"], "flagged"), 1001.0)
    assert (full.change_key, full.categories, full.flag_status) == (
        "CK2",
        ("Tildelt: Åse",),
        "flagged",
    )
    assert read_writeback(b"{not json", 1001.0) == read_writeback(b"", 1001.0)


def test_lifecycle_events_are_deduplicated_per_subscription_event_and_window() -> None:
    def work(subscription: str = "sub-1", event: str = "subscriptionRemoved") -> LifecycleWork:
        return LifecycleWork.model_validate(
            {"department": "post", "mailbox": "p@x", "subscription_id": subscription,
             "event": event}
        )  # fmt: skip

    window = 900.0
    first = lifecycle_work_id(work(), 9_000.0, window)
    assert lifecycle_work_id(work(), 9_000.0 + window - 1, window) == first  # a replay
    assert lifecycle_work_id(work(), 9_000.0 + window, window) != first  # the next window
    assert lifecycle_work_id(work("sub-2"), 9_000.0, window) != first
    assert lifecycle_work_id(work(event="missed"), 9_000.0, window) != first
