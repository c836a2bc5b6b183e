"""What the router does with one fact about a case, top to bottom (R9–R13, R17).

For every fact (a mail event, a supervisor's command, the watch's alert mark):

1. load the case record (and publish what an earlier write left in its outbox);
2. plan the routing when the fact needs it (`planner.py`), on the record just loaded;
3. `transitions.transition`: the new record and its events, pure;
4. claim a routing decision on the workboard the plan was made on (the department's, with
   compare-and-set), then save the record with its events in the outbox (compare-and-set on the
   revision loaded);
5. publish the events and empty the outbox;
6. bring the workboards in line with the record: its department's, and the one it left when the
   routing moved it (a crash in between leaves a stale entry there, which the watch heals);
7. write the case back onto its message in Outlook (`outlook_sync.py`).

A lost compare-and-set in 1–5 redoes them from the load (`cas.retrying`), planning again on fresh
data, so two replicas never assign one case twice nor lose each other's update. A crash after the
save leaves the events in the outbox; whoever reads the record next publishes them (their ids are
deterministic, so JetStream drops a repeat).

`received` opens the case instead. A fact about a case not opened yet (`classified` overtaking
`received` on another replica) is retried as transient for a while; after that it is an error,
which the retry discipline turns into a dead letter with an alert; a deletion is alerted even then
(R13). Outlook not updated because Graph is busy is transient too: the redelivery finds the case
already changed and only retries the write-back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import structlog

from schemas.events import Alert, MailChanged, MailDeleted, MailEventBase, MailReceived, MailRouted
from schemas.identity import make_event_id
from schemas.vocab import AlertKind
from services.common.clock import Clock
from services.common.errors import TransientError
from services.common.publisher import EventPublisher
from services.router.cas import Conflict, retrying
from services.router.context import RouterContext
from services.router.facts import Fact, MailFact
from services.router.migration import split_legacy_workboard
from services.router.outlook_sync import OutlookSync, Shown
from services.router.planner import Planner
from services.router.record import CaseRecord
from services.router.store import CaseStore, Loaded
from services.router.transitions import Transition, open_case, transition

log = structlog.get_logger(__name__)


class CaseMissing(LookupError):
    """No record for the case (yet): its `received` may still be on its way."""


@dataclass(frozen=True)
class Applied:
    transition: Transition
    outlook_pending: bool = False
    """The write-back to Outlook failed for now (Graph busy); the record itself is saved."""

    @property
    def record(self) -> CaseRecord:
        return self.transition.record


class CaseFlow:
    def __init__(
        self,
        ctx: RouterContext,
        store: CaseStore,
        planner: Planner,
        outlook: OutlookSync,
        publisher: EventPublisher,
        clock: Clock,
        *,
        max_attempts: int,
        case_wait_seconds: float,
    ) -> None:
        self.ctx = ctx
        self.store = store
        self.outlook = outlook
        self._planner = planner
        self._publisher = publisher
        self._clock = clock
        self._max_attempts = max_attempts
        self._case_wait_seconds = case_wait_seconds

    # --- the events the router consumes ------------------------------------------------------

    async def handle(self, event: MailEventBase) -> None:
        """One mail event: `received` opens the case, every other one is a fact about it."""
        if isinstance(event, MailReceived):
            await self.open(event)
            return
        if not isinstance(event, MailFact):
            raise ValueError(f"the router does not consume {type(event).__name__} events")
        shown = (
            Shown(list(event.categories), event.flag_status, event.change_key)
            if isinstance(event, MailChanged)
            else None
        )
        try:
            applied = await self.apply(event.case_id, event, event.occurred_at, shown)
        except CaseMissing:
            await self._case_missing(event)
            return
        if applied.outlook_pending:
            raise TransientError(f"case {event.case_id}: Outlook write-back pending")

    async def open(self, received: MailReceived) -> CaseRecord:
        """The record of a received mail, created once (a redelivery finds it there)."""
        mailbox_department = self.ctx.org.department_for_address(received.mailbox)
        department = mailbox_department or received.department
        if department not in self.ctx.org.departments:
            raise ValueError(f"{received.department!r} is not a department of {self.ctx.org.name}")
        created = await self.store.create(open_case(received, department))
        if created is None:
            existing = await self.store.load(received.case_id)
            if existing is None:
                raise CaseMissing(received.case_id)
            record = existing.record
        else:
            record = created.record
        await self._note_first_of_thread(record)
        await self.sync_workboards(record.case_id, {record.department})
        return record

    # --- one fact, top to bottom -------------------------------------------------------------

    async def apply(
        self, case_id: str, fact: Fact, at: datetime, shown: Shown | None = None
    ) -> Applied:
        """Apply `fact` to the case at `at`, publish its events, then update the workboard and
        Outlook. `shown` is what a `changed` event said Outlook shows."""
        for attempt in retrying(self._max_attempts, f"case {case_id}"):
            with attempt:
                loaded = await self.store.load(case_id)
                if loaded is None:
                    raise CaseMissing(case_id)
                loaded = await self._flush_outbox(loaded)
                # The boards to bring in line afterwards: the department's the case was in...
                departments = {loaded.record.department}
                planned = await self._planner.plan(loaded.record, fact)
                step = transition(
                    loaded.record, fact, planned.plan if planned else None, self.ctx, at
                )
                if step.changed:
                    # ...and the one it is in now, unless that board was claimed on: it then
                    # holds the record saved right after, so it is in line already.
                    departments.add(step.record.department)
                    if planned is not None and any(isinstance(e, MailRouted) for e in step.events):
                        # Claim the decision first: a replica that planned on the same board
                        # loses here and plans again.
                        claimed = planned.board.claimed(step.record, planned.plan.rotation)
                        await self.store.save_workboard(claimed, planned.board_revision)
                        departments.discard(claimed.department)
                    saved = await self.store.save(loaded, step.record, step.events)
                    loaded = await self._flush_outbox(saved, best_effort=True)
                latest = loaded
        for note in step.notes:
            log.info("case note", case_id=case_id, note=note)
        await self.sync_workboards(case_id, departments)
        try:
            await self.outlook.write_back(step.record, shown, latest)
        except TransientError:
            return Applied(step, outlook_pending=True)
        return Applied(step)

    async def _flush_outbox(self, loaded: Loaded, best_effort: bool = False) -> Loaded:
        """Publish the events a write left in the outbox, then empty it."""
        if not loaded.outbox:
            return loaded
        for event in loaded.outbox:
            await self._publisher.publish(event)
        try:
            return await self.store.save(loaded, loaded.record, ())
        except Conflict:
            if not best_effort:
                raise
            # The next writer found the outbox and published it again: JetStream dropped it.
            return loaded

    # --- keeping the shared keys in line -----------------------------------------------------

    async def sync_workboards(self, case_id: str, departments: Collection[str]) -> None:
        """Bring the workboards of `departments` (the case's, and one it left) in line with the
        case record as it is now."""
        for department in sorted(departments):
            await self._sync_board(case_id, department)

    async def _sync_board(self, case_id: str, department: str) -> None:
        for attempt in retrying(self._max_attempts, f"workboard {department}"):
            with attempt:
                loaded = await self.store.load(case_id)
                if loaded is None:
                    return
                board, revision = await self.store.load_workboard(department)
                synced = board.synced(loaded.record)
                if synced is not board:
                    await self.store.save_workboard(synced, revision)

    async def _note_first_of_thread(self, record: CaseRecord) -> None:
        conversation = record.conversation_id
        if conversation is None:
            return
        # Most mail starts its conversation: one round trip when the index is still free.
        try:
            await self.store.set_first_case(conversation, record.case_id, 0)
        except Conflict:
            pass
        else:
            return
        for attempt in retrying(self._max_attempts, "conversation index"):
            with attempt:
                current = await self.store.first_case_of(conversation)
                if current is None:
                    await self.store.set_first_case(conversation, record.case_id, 0)
                    return
                first_id, revision = current
                first = await self.store.load(first_id) if first_id != record.case_id else None
                if first is None or first.record.received_at <= record.received_at:
                    return
                await self.store.set_first_case(conversation, record.case_id, revision)

    async def split_legacy_workboard(self) -> None:
        """Split the single workboard of earlier versions, if there still is one (`migration.py`).
        While a router of an earlier version still writes it (a rolling upgrade), the split loses
        its compare-and-set every time: it is then tried again at the next watch tick."""
        try:
            moved = await split_legacy_workboard(self.store, self._max_attempts)
        except TransientError:
            log.warning("an earlier router still writes the single workboard; split again later")
            return
        if moved is not None:
            log.info("single workboard split into the departments' boards", open_cases=moved)

    async def open_records(self) -> list[CaseRecord]:
        """Every open case, by the departments' workboards; an entry of a case closed meanwhile, or
        on the board of a department the case has left, is healed."""
        boards = await asyncio.gather(
            *(self.store.load_workboard(department) for department in self.ctx.org.departments)
        )
        listed = {case_id for board, _ in boards for case_id in board.open_cases}
        loaded = await asyncio.gather(*(self.store.load(case_id) for case_id in sorted(listed)))
        records = {item.record.case_id: item.record for item in loaded if item is not None}
        for board, _ in boards:
            for case_id in board.open_cases:
                record = records.get(case_id)
                if record is not None and board.synced(record) is not board:
                    await self._sync_board(case_id, board.department)
        return [record for record in records.values() if record.is_open]

    # --- a fact about a case never opened ----------------------------------------------------

    async def _case_missing(self, event: MailFact) -> None:
        waited = (self._clock() - event.occurred_at).total_seconds()
        if waited < self._case_wait_seconds:
            raise TransientError(f"case {event.case_id} is not opened yet")
        if isinstance(event, MailDeleted):
            # R13: a deletion is told to the supervisors even of a mail Sakspost never saw.
            await self._publisher.publish(
                Alert(
                    event_id=make_event_id("alert.deleted", event.case_id, event.event_id),
                    case_id=event.case_id,
                    occurred_at=event.occurred_at,
                    department=event.department,
                    kind=AlertKind.DELETED,
                    summary="A mail unknown to Sakspost left a shared mailbox (R13)",
                    case_ids=[event.case_id],
                )
            )
            return
        raise CaseMissing(
            f"case {event.case_id} was never opened: no received event within "
            f"{self._case_wait_seconds:.0f} s of this {event.type} event"
        )
