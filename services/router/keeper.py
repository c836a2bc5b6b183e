"""The case keeper: applies one fact to one case record the only safe way (R11, R12, R13).

For every fact: read the record, decide the transition (pure logic), write it with compare-and-set
together with its events (the outbox), publish the events, then bring the workboard and Outlook in
line with the record. A lost compare-and-set redoes the whole decision on fresh data, so two router
replicas never assign one case twice nor lose each other's update. A crash after the write leaves
the events in the outbox; whoever reads the record next publishes them (their ids are
deterministic, so JetStream drops a repeat).

Assignment decisions are serialised through the workboard: the decision is claimed there with
compare-and-set before the record is written, so two replicas never both see the same caseworker
as least loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from schemas.events import MailClassified, MailReceived, MailRouted
from services.common.away import AwayCheck
from services.common.clock import Clock
from services.common.errors import TransientError
from services.common.orgconfig import Organisation
from services.common.publisher import EventPublisher
from services.router.assignment import MailFacts, Workload
from services.router.case import (
    CaseRecord,
    FlagStatus,
    Transition,
    apply_classified,
    apply_plan,
    note_written_back,
    open_case,
)
from services.router.context import RouterContext
from services.router.graph_io import MessageGone, OutlookWriter, WriteConflict
from services.router.outlook import WriteBackPlan, holds_unheard_intent, plan_writeback
from services.router.plan import RoutingPlan, plan_case
from services.router.routing import route_department
from services.router.store import CaseStore, Conflict, Loaded

log = structlog.get_logger(__name__)

Decide = Callable[[CaseRecord], Awaitable[Transition]]


class CaseMissing(LookupError):
    """No record for the case (yet): its `received` may still be on its way."""


@dataclass(frozen=True)
class Shown:
    """What Outlook shows on the message, as a `changed` event or a read of it said, and which
    version of the message that is (its change key; None when unknown)."""

    categories: list[str]
    flag: FlagStatus | None
    change_key: str | None = None


@dataclass(frozen=True)
class Applied:
    transition: Transition
    outlook_pending: bool = False
    """The write-back to Outlook failed for now (Graph busy); the record itself is saved."""

    @property
    def record(self) -> CaseRecord:
        return self.transition.record


def people_to_check(org: Organisation, department: str, thread_owner: str | None) -> set[str]:
    """Everyone the assignment of a case in `department` may pick, with their deputies."""
    config = org.departments[department]
    people = {*config.caseworkers, *config.supervisors}
    people.update(rule.assignee for rule in config.assignment.rules)
    if thread_owner is not None:
        people.add(thread_owner)
    deputies = {org.staff_member(person).deputy for person in people}
    return people | {deputy for deputy in deputies if deputy is not None}


def facts_of(record: CaseRecord, classified: MailClassified | None = None) -> MailFacts:
    """What the assignment policies may look at: the classifier's verdict, else the record's."""
    mail_class = classified.mail_class if classified else record.mail_class
    if mail_class is None:
        raise ValueError(f"case {record.case_id} has no class to plan from")
    return MailFacts(
        mail_class=mail_class,
        confidence=classified.confidence if classified else (record.confidence or 1.0),
        sender=record.sender.address if record.sender else None,
        subject=record.subject,
        topics=tuple(classified.topics if classified else record.topics),
        conversation_id=record.conversation_id,
    )


def _basis(record: CaseRecord, shown: Shown | None) -> Shown | None:
    """The version of the message to plan a write on: the one a `changed` event showed, else the
    one we last wrote, else the one ingest read on arrival; None when none has a change key (the
    message is read first). A stale one costs a 412 and a read, never a person's change."""
    if shown is not None and shown.change_key is not None:
        return shown
    if shown is not None:
        return None
    last = record.writeback
    if last is not None:
        return (
            Shown(list(last.categories), last.flag_status, last.change_key)
            if last.change_key
            else None
        )
    arrived = record.received_version
    if arrived is not None:
        return Shown(list(arrived.categories), arrived.flag_status, arrived.change_key)
    return None


def _combined(first: Transition, then: Transition) -> Transition:
    return Transition(
        record=then.record,
        events=(*first.events, *then.events),
        changed=first.changed or then.changed,
        notes=(*first.notes, *then.notes),
    )


class CaseKeeper:
    def __init__(
        self,
        ctx: RouterContext,
        store: CaseStore,
        publisher: EventPublisher,
        writer: OutlookWriter,
        replies: AwayCheck,
        clock: Clock,
        max_attempts: int,
    ) -> None:
        self.ctx = ctx
        self.store = store
        self._publisher = publisher
        self._writer = writer
        self._replies = replies
        self._clock = clock
        self._max_attempts = max_attempts
        self.conflicts = 0
        """Lost compare-and-sets so far (each one redone on fresh data)."""

    # --- opening ----------------------------------------------------------------------------

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
        await self.sync_workboard(record.case_id)
        return record

    async def _note_first_of_thread(self, record: CaseRecord) -> None:
        conversation = record.conversation_id
        if conversation is None:
            return
        for _ in range(self._max_attempts):
            current = await self.store.first_case_of(conversation)
            try:
                if current is None:
                    await self.store.set_first_case(conversation, record.case_id, 0)
                    return
                first_id, revision = current
                first = await self.store.load(first_id) if first_id != record.case_id else None
                if first is None or first.record.received_at <= record.received_at:
                    return
                await self.store.set_first_case(conversation, record.case_id, revision)
                return
            except Conflict:
                self.conflicts += 1
        raise TransientError("conversation index busy")

    # --- applying a fact ------------------------------------------------------------------------

    async def apply(self, case_id: str, decide: Decide, shown: Shown | None = None) -> Applied:
        """Apply the transition `decide` makes of the current record, then publish its events."""
        for _ in range(self._max_attempts):
            loaded = await self.store.load(case_id)
            if loaded is None:
                raise CaseMissing(case_id)
            try:
                loaded = await self._flush_outbox(loaded)
                transition = await decide(loaded.record)
                if transition.changed:
                    saved = await self.store.save(loaded, transition.record, transition.events)
                    await self._flush_outbox(saved, best_effort=True)
            except Conflict:
                self.conflicts += 1
                continue
            for note in transition.notes:
                log.info("case note", case_id=case_id, note=note)
            await self.sync_workboard(case_id)
            try:
                await self.write_back(transition.record, shown)
            except TransientError:
                return Applied(transition, outlook_pending=True)
            return Applied(transition)
        raise TransientError(f"case {case_id}: too many concurrent writers")

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

    # --- routing ------------------------------------------------------------------------------

    async def classify(self, record: CaseRecord, classified: MailClassified) -> Transition:
        """The classifier's verdict and the routing planned from it."""
        if classified.event_id in record.applied_event_ids:
            return Transition(record=record, notes=("already applied",))
        at = classified.occurred_at
        return await self._planned(
            record,
            facts_of(record, classified),
            classified.suggested_department,
            lambda plan: apply_classified(record, classified, plan, self.ctx, at),
        )

    async def replan(self, step: Transition, at: datetime) -> Transition:
        """After a class correction reopened a closed private case: route it afresh."""
        cause = step.replan_event_id
        if cause is None:
            return step
        record = step.record
        planned = await self._planned(
            record,
            facts_of(record),
            None,
            lambda plan: apply_plan(record, plan, cause, self.ctx, at),
        )
        return _combined(step, planned)

    async def _planned(
        self,
        record: CaseRecord,
        facts: MailFacts,
        suggested_department: str | None,
        apply: Callable[[RoutingPlan], Transition],
    ) -> Transition:
        org = self.ctx.org
        board, board_revision = await self.store.load_workboard()
        owner = await self._thread_owner(record)
        department = route_department(
            org, record.mailbox_department, suggested_department, facts.confidence
        ).department
        away = await self._replies.away(people_to_check(org, department, owner))
        plan = plan_case(
            self.ctx,
            mailbox_department=record.mailbox_department,
            suggested_department=suggested_department,
            facts=facts,
            received_at=record.received_at,
            workload=Workload(board.open_counts(excluding=record.case_id), owner),
            away=away,
            rotation=board.rotation,
        )
        transition = apply(plan)
        if any(isinstance(event, MailRouted) for event in transition.events):
            # Claim the decision first: a replica that decided on the same board loses here.
            claimed = board.synced(transition.record).with_rotation(plan.rotation)
            await self.store.save_workboard(claimed, board_revision)
        return transition

    async def _thread_owner(self, record: CaseRecord) -> str | None:
        """The caseworker of the first mail of the conversation, if that is another case."""
        if record.conversation_id is None:
            return None
        first = await self.store.first_case_of(record.conversation_id)
        if first is None or first[0] == record.case_id:
            return None
        loaded = await self.store.load(first[0])
        return loaded.record.assignee if loaded is not None else None

    # --- keeping the rest in line -------------------------------------------------------------

    async def sync_workboard(self, case_id: str) -> None:
        """Bring the workboard in line with the case record as it is now."""
        for _ in range(self._max_attempts):
            loaded = await self.store.load(case_id)
            if loaded is None:
                return
            board, revision = await self.store.load_workboard()
            synced = board.synced(loaded.record)
            if synced == board:
                return
            try:
                await self.store.save_workboard(synced, revision)
                return
            except Conflict:
                self.conflicts += 1
        raise TransientError("workboard busy")

    async def write_back(self, record: CaseRecord, shown: Shown | None = None) -> None:
        """Show the case on its message in Outlook, unless Outlook shows it already.

        The write is planned on one version of the message (`shown`, else the one we last wrote,
        else the one read now) and is conditional on it (`If-Match`). When a person changed the
        message since, Graph refuses it (412) and nothing is overwritten: the record and the
        message are read again and the write is planned afresh, unless the message now carries a
        change the record does not reflect yet (a caseworker's new `Tildelt:`, class or completed
        flag). Then nothing is written: that change's own `changed` event is on its way, and its
        write-back follows once the record reflects it (R11, R17).
        """
        mailbox = self.ctx.org.departments[record.mailbox_department].mailbox
        graph_id = record.graph_message_id
        basis = _basis(record, shown)
        for _ in range(self._max_attempts):
            try:
                if basis is None:
                    basis = await self._read_unless_unheard(mailbox, record)
                    if basis is None:
                        return
                plan = plan_writeback(
                    record,
                    self.ctx.org,
                    shown_categories=basis.categories,
                    shown_flag=basis.flag,
                )
                if plan is None:
                    return
                revision = await self.store.mark_writeback_pending(graph_id)
                try:
                    change_key = await self._writer.write(
                        mailbox, graph_id, plan, if_match=basis.change_key
                    )
                except (WriteConflict, MessageGone):
                    # Nothing was written: ingest must not hold the change that refused us back.
                    await self.store.withdraw_pending(graph_id, revision, record.writeback)
                    raise
            except MessageGone:
                log.warning("message gone; nothing to write back", case_id=record.case_id)
                return
            except WriteConflict:
                self.conflicts += 1
                log.info("message changed since the write was planned", case_id=record.case_id)
                loaded = await self.store.load(record.case_id)
                if loaded is None:
                    return
                record, basis = loaded.record, None
                continue
            if change_key is not None:
                await self.store.publish_change_key(
                    graph_id, change_key, plan.categories, plan.flag.status
                )
            await self._note_written(record.case_id, plan, change_key)
            return
        raise TransientError(f"case {record.case_id}: the message keeps changing in Outlook")

    async def _read_unless_unheard(self, mailbox: str, record: CaseRecord) -> Shown | None:
        """The message as it is now, to plan on; None when it holds a change not yet heard."""
        state = await self._writer.read(mailbox, record.graph_message_id)
        if holds_unheard_intent(
            record, self.ctx.org, state.change_key, state.categories, state.flag
        ):
            log.info(
                "a change in Outlook is not heard yet; the write-back waits for it",
                case_id=record.case_id,
            )
            return None
        return Shown(state.categories, state.flag, state.change_key)

    async def _note_written(
        self, case_id: str, plan: WriteBackPlan, change_key: str | None
    ) -> None:
        for _ in range(self._max_attempts):
            loaded = await self.store.load(case_id)
            if loaded is None:
                return
            noted = note_written_back(
                loaded.record,
                categories=plan.categories,
                flag_status=plan.flag.status,
                flag_due=plan.flag.due,
                change_key=change_key,
                at=self._clock(),
            )
            try:
                await self.store.save(loaded, noted, loaded.outbox)
                return
            except Conflict:
                self.conflicts += 1
        raise TransientError(f"case {case_id}: too many concurrent writers")

    async def open_records(self) -> list[CaseRecord]:
        """Every open case, by the workboard; entries of cases closed meanwhile are healed."""
        board, _ = await self.store.load_workboard()
        loaded = await asyncio.gather(*(self.store.load(case_id) for case_id in board.open_cases))
        records = [item.record for item in loaded if item is not None]
        for record in records:
            if board.synced(record) != board:
                await self.sync_workboard(record.case_id)
        return [record for record in records if record.is_open]
