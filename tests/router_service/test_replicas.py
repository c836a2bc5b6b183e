"""Two router replicas on one stream (R11, R12): no case is assigned twice, no update is lost, and
the load stays even, because every write is a compare-and-set on the real server."""

from __future__ import annotations

from collections import Counter

from nats.js import JetStreamContext

from schemas.events import MailArchived, MailDeleted
from schemas.identity import make_event_id
from schemas.vocab import DeletionKind, MailClass
from services.common.jetstream import CASES_BUCKET, WRITEBACKS_BUCKET
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.router.app import build
from services.router.store import CaseStore
from tests.conftest import scaled
from tests.support.events import event_log

from .conftest import QUIET
from .support import FakeClock, Mailroom, mail

HELSE = "helse@ha.kommune.no"


async def test_two_replicas_never_assign_a_case_twice_nor_lose_an_update(
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    settings: Settings,
    js: JetStreamContext,
) -> None:  # R11, R12, R13
    caseworkers = org.departments["helse"].caseworkers
    count = len(caseworkers) * (scaled(300, 30) // len(caseworkers))
    first, second = (build(router_env, org, clock=clock, router_settings=QUIET) for _ in range(2))
    async with event_log(settings) as log, first.running(), second.running():
        cases = []
        for number in range(count):
            raw = mail(f"Sak {number}", to=HELSE, message_id=f"r{number}@x.org")
            received = await mailroom.receive(HELSE, raw)
            await mailroom.classify(received, MailClass.OFFISIELL)
            cases.append(received)
        routed = await log.wait_for(lambda _s, p: p["type"] == "routed", count=count, timeout=60)
        # Two facts about each case back to back: the replicas race on the same records.
        for received in cases:
            await mailroom.publish(
                MailArchived(
                    event_id=make_event_id("archived", received.case_id),
                    case_id=received.case_id,
                    occurred_at=received.received_at,
                    department="helse",
                    archive_system="websak",
                    journalpost_id=f"jp-{received.case_id}",
                    registry_number=f"26/{received.case_id[:4]}",
                    documents=[],
                )
            )
            await mailroom.publish(
                MailDeleted(
                    event_id=make_event_id("deleted", received.case_id),
                    case_id=received.case_id,
                    occurred_at=received.received_at,
                    department="helse",
                    mailbox=HELSE,
                    graph_message_id=received.graph_message_id,
                    how=DeletionKind.MOVED_TO_DELETED_ITEMS,
                )
            )
        await log.wait_for(lambda _s, p: p["type"] == "completed", count=count, timeout=60)
        await log.wait_for(lambda _s, p: p.get("kind") == "deleted", count=count, timeout=60)
        store = CaseStore(await js.key_value(CASES_BUCKET), await js.key_value(WRITEBACKS_BUCKET))
        records = {r.case_id: r for r in await store.records()}
        boards = [(await store.load_workboard(key))[0] for key in org.departments]

    # One routed per case, and the load spread exactly evenly (capacity 1 each).
    assert sorted(p["case_id"] for _s, p in routed) == sorted(r.case_id for r in cases)
    assert Counter(p["assignee"]["id"] for _s, p in routed) == {s: count // 3 for s in caseworkers}
    # Both facts are in every record: neither replica overwrote the other's update.
    for received in cases:
        what = [entry.what for entry in records[received.case_id].history]
        assert what.count("routed") == 1 and "archived" in what and "deleted" in what
        assert records[received.case_id].status == "ferdig"
    assert all(board.open_cases == {} for board in boards)
