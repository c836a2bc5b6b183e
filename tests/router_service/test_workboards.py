"""One workboard per department (R11, R12), on the real server: departments never contend for a
key, replicas still never assign a case twice and spread the load evenly, an entry a move left
behind heals, and the single board of earlier versions is split at start."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from msgraph.graph_service_client import GraphServiceClient
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from schemas.events import MailClassified, MailReceived
from schemas.identity import make_event_id
from schemas.vocab import MailClass, Status
from services.common.away import AwayCheck
from services.common.jetstream import CASES_BUCKET, WRITEBACKS_BUCKET
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.router.app import RouterHolder, build
from services.router.assignment import Rotation
from services.router.cas import Conflict
from services.router.planner import Planned, Planner
from services.router.store import LEGACY_WORKBOARD_KEY, CaseStore
from services.router.transitions import transition
from services.router.workboard import LegacyWorkboard, Workboard
from tests.conftest import scaled
from tests.support.events import event_log

from .conftest import QUIET
from .support import WAIT_SECONDS, FakeClock, Mailroom, mail

BYGG = "bygg@ha.kommune.no"
HELSE = "helse@ha.kommune.no"
POST = "post@ha.kommune.no"
BOARD = "workboard."


async def board_until(
    js: JetStreamContext, department: str, wanted: Callable[[Workboard], bool]
) -> Workboard:
    """Wait until the department's board is as `wanted` (a change to it is the event)."""
    kv = await js.key_value(CASES_BUCKET)
    watcher = await kv.watch(BOARD + department)
    try:
        while True:
            # nats-py leaves its watcher untyped.
            entry = await watcher.updates(timeout=WAIT_SECONDS)  # type: ignore[no-untyped-call]
            if entry is not None and entry.value:
                board = Workboard.model_validate_json(entry.value)
                if wanted(board):
                    return board
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]


async def opened(mailroom: Mailroom, js: JetStreamContext, mailbox: str, n: int) -> MailReceived:
    received = await mailroom.receive(mailbox, mail(f"Sak {n}", to=mailbox, message_id=f"{n}@x"))
    await board_until(js, received.department, lambda board: received.case_id in board.open_cases)
    return received


async def plan(
    planner: Planner, store: CaseStore, received: MailReceived
) -> tuple[Planned, MailClassified]:
    fact = MailClassified(
        event_id=make_event_id("classified", received.case_id, "test"),
        case_id=received.case_id,
        occurred_at=received.received_at,
        department=received.department,
        mail_class=MailClass.OFFISIELL,
        confidence=0.95,
    )
    loaded = await store.load(received.case_id)
    assert loaded is not None
    planned = await planner.plan(loaded.record, fact)
    assert planned is not None
    return planned, fact


async def test_two_departments_claim_on_their_own_keys_without_conflict(
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    js: JetStreamContext,
    graph: GraphServiceClient,
) -> None:  # R11
    holder = RouterHolder()
    async with build(router_env, org, clock=clock, router_settings=QUIET, holder=holder).running():
        cases = [await opened(mailroom, js, mailbox, n) for n, mailbox in enumerate([BYGG, HELSE])]
        cases.append(await opened(mailroom, js, BYGG, 2))
        flow = holder.ready().flow
        planner = Planner(flow.ctx, flow.store, AwayCheck(graph, org, clock, 0))
        # Every decision planned on the boards as they are, before any is claimed: as replicas do.
        plans = [await plan(planner, flow.store, received) for received in cases]
        claims = []
        for (planned, fact), received in zip(plans, cases, strict=True):
            loaded = await flow.store.load(received.case_id)
            assert loaded is not None
            step = transition(loaded.record, fact, planned.plan, flow.ctx, received.received_at)
            claims.append((planned.board.claimed(step.record, planned.plan.rotation), planned))

        assert [board.department for board, _ in claims] == ["bygg", "helse", "bygg"]
        # Bygg's and helse's decisions touch different keys: both claims go through.
        for board, planned in claims[:2]:
            await flow.store.save_workboard(board, planned.board_revision)
        # Within one department the board still serialises: the second claim on the board both
        # were planned on is refused, and its replica plans again.
        board, planned = claims[2]
        with pytest.raises(Conflict):
            await flow.store.save_workboard(board, planned.board_revision)


async def test_two_replicas_on_two_departments_assign_each_case_once_and_evenly(
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    settings: Settings,
) -> None:  # R11, R12
    per_department = 3 * (scaled(60, 12) // 3)
    first, second = (build(router_env, org, clock=clock, router_settings=QUIET) for _ in range(2))
    async with event_log(settings) as log, first.running(), second.running():
        for number in range(per_department):
            for mailbox in (BYGG, HELSE):
                raw = mail(f"Sak {number}", to=mailbox, message_id=f"{mailbox}{number}@x.org")
                received = await mailroom.receive(mailbox, raw)
                await mailroom.classify(received, MailClass.OFFISIELL)
        routed = await log.wait_for(
            lambda _s, p: p["type"] == "routed", count=2 * per_department, timeout=60
        )

    assert len({p["case_id"] for _s, p in routed}) == 2 * per_department  # each case once
    for department in ("bygg", "helse"):
        load = Counter(p["assignee"]["id"] for _s, p in routed if p["department"] == department)
        caseworkers = org.departments[department].caseworkers
        assert load == {person: per_department // 3 for person in caseworkers}


async def test_an_entry_left_on_the_board_a_case_moved_from_heals(
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    settings: Settings,
    js: JetStreamContext,
) -> None:  # R5, R11
    holder = RouterHolder()
    async with (
        event_log(settings) as log,
        build(router_env, org, clock=clock, router_settings=QUIET, holder=holder).running(),
    ):
        received = await opened(mailroom, js, POST, 1)
        await mailroom.classify(received, MailClass.OFFISIELL, department="bygg", confidence=0.99)
        ((_, routed),) = await log.wait_for_case(received.case_id, "routed")
        assert routed["department"] == "bygg"
        # The case moves: onto bygg's board with its assignee, off the common mailbox's board.
        await board_until(js, "post", lambda board: received.case_id not in board.open_cases)
        store = holder.ready().flow.store
        post, post_revision = await store.load_workboard("post")
        bygg, _ = await store.load_workboard("bygg")
        assert bygg.open_cases[received.case_id] == routed["assignee"]["id"]

        # A crash between claiming on bygg's board and leaving post's leaves the old entry.
        stale = post.model_copy(update={"open_cases": {received.case_id: None}})
        await store.save_workboard(stale, post_revision)
        listed = await holder.ready().flow.open_records()  # what the watch does every minute
        assert [record.case_id for record in listed] == [received.case_id]
        assert (await store.load_workboard("post"))[0].open_cases == {}
        assert received.case_id in (await store.load_workboard("bygg"))[0].open_cases


async def test_the_single_board_of_earlier_versions_is_split_at_start(
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    settings: Settings,
    js: JetStreamContext,
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:  # R11
    helse = org.departments["helse"].caseworkers
    async with event_log(settings) as log:
        async with build(router_env, org, clock=clock, router_settings=QUIET).running():
            cases = [await opened(mailroom, js, HELSE, n) for n in range(4)]
            cases.append(await opened(mailroom, js, BYGG, 4))
            for received in cases:
                await mailroom.classify(received, MailClass.OFFISIELL)
            await log.wait_for(lambda _s, p: p["type"] == "routed", count=len(cases))
            await board_until(js, "helse", lambda board: _assigned(board) == 4)
            await board_until(js, "bygg", lambda board: _assigned(board) == 1)
        # The state an earlier version leaves: one board of every open case, no department's.
        router = (await connect_as("router")).jetstream()
        kv = await router.key_value(CASES_BUCKET)
        store = CaseStore(kv, await router.key_value(WRITEBACKS_BUCKET))
        records = {record.case_id: record for record in await store.records()}
        for department in org.departments:
            await kv.delete(BOARD + department)
        closed = cases[0].case_id
        legacy = LegacyWorkboard(
            open_cases={case_id: r.assignee for case_id, r in records.items()},
            rotation=Rotation(last_picked={"helse": helse[0]}),
        )
        await kv.put(LEGACY_WORKBOARD_KEY, legacy.model_dump_json().encode())
        finished = records[closed].model_copy(update={"status": Status.FERDIG})
        loaded = await store.load(closed)
        assert loaded is not None
        await store.save(loaded, finished, ())

        async with build(router_env, org, clock=clock, router_settings=QUIET).running():
            with pytest.raises(KeyNotFoundError):
                await kv.get(LEGACY_WORKBOARD_KEY)
            boards = {d: (await store.load_workboard(d))[0] for d in ("helse", "bygg")}
            assert boards["helse"].open_cases == {
                r.case_id: records[r.case_id].assignee for r in cases[1:4]
            }
            assert boards["bygg"].open_cases == {
                cases[4].case_id: records[cases[4].case_id].assignee
            }
            assert boards["helse"].last_picked == helse[0]
            # The open cases moved count for the load: three new ones even it out exactly.
            more = [await opened(mailroom, js, HELSE, n) for n in range(5, 8)]
            for received in more:
                await mailroom.classify(received, MailClass.OFFISIELL)
            board = await board_until(js, "helse", lambda board: _assigned(board) == 6)
    assert board.open_counts() == {person: 2 for person in helse}


def _assigned(board: Workboard) -> int:
    return sum(assignee is not None for assignee in board.open_cases.values())


async def test_a_single_board_an_earlier_router_still_writes_is_split_by_the_watch(
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    js: JetStreamContext,
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:  # R11: a rolling upgrade, where routers of both versions run for a while
    holder = RouterHolder()
    async with build(router_env, org, clock=clock, router_settings=QUIET, holder=holder).running():
        received = await opened(mailroom, js, HELSE, 1)
        kv = await (await connect_as("router")).jetstream().key_value(CASES_BUCKET)
        await kv.delete(BOARD + "helse")
        # The earlier router, still running, lists the case on its single board after the start.
        legacy = LegacyWorkboard(open_cases={received.case_id: None})
        await kv.put(LEGACY_WORKBOARD_KEY, legacy.model_dump_json().encode())
        await holder.ready().watch.tick()
        with pytest.raises(KeyNotFoundError):
            await kv.get(LEGACY_WORKBOARD_KEY)
        board, _ = await holder.ready().flow.store.load_workboard("helse")
    assert board.open_cases == {received.case_id: None}
