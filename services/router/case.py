"""The case record (the router is its only writer) and its transitions (R8, R10–R13, R17).

Each transition is a pure function: it takes a record, the fact that changes it and the moment, and
returns the new record and the events to publish. The same fact applied twice changes nothing and
publishes nothing (a record remembers the ids of the facts it applied), so the wiring can redo a
transition after a lost compare-and-set. History is append-only: nothing is ever removed (R13).

Event ids are derived from the id of the fact that caused them, so a redelivered fact publishes
events JetStream drops as duplicates. Pass `at` from the causing fact, not from the wall clock, so
that the payloads are identical too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import (
    Alert,
    Event,
    MailArchived,
    MailClassified,
    MailCompleted,
    MailDeleted,
    MailReceived,
    MailRouted,
    Party,
    UtcDateTime,
)
from schemas.identity import make_event_id
from schemas.vocab import (
    AlertKind,
    AssignmentPolicy,
    CompletedVia,
    DeletionKind,
    MailClass,
    SensitiveKind,
    Severity,
    Status,
)
from services.router.assignment import Workload
from services.router.context import SYSTEM_ACTOR, RouterContext
from services.router.plan import RoutingPlan
from services.router.sla import due_at as sla_due_at

# Enough to recognise every redelivery JetStream can still make of a case's facts; older facts are
# also caught by the state checks (a Ferdig case is not completed twice).
MAX_APPLIED_EVENT_IDS = 200
# Our recent writes to Outlook; an echo of any of them, however late, is not a human's change.
# The same number of versions heard from humans is kept.
MAX_WRITTEN_CHANGE_KEYS = 20

FlagStatus = Literal["notFlagged", "flagged", "complete"]


class CaseError(ValueError):
    """A command or change that cannot apply to this case; the message says why."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HistoryEntry(_Record):
    at: UtcDateTime
    who: str = Field(description="Staff id, or the system that acted (sakspost, outlook, websak)")
    what: str = Field(description="What happened, one word: received, routed, completed, …")
    why: str = Field(default="", description="Why, without personal data")
    event_id: str | None = Field(default=None, description="The fact that caused it")


class WriteBack(_Record):
    """What the router last wrote to the message in Outlook, to recognise its own echo."""

    at: UtcDateTime
    change_key: str | None
    categories: list[str]
    flag_status: FlagStatus
    flag_due: UtcDateTime | None = None


class OutlookVersion(_Record):
    """A version of the message in Outlook as ingest read it."""

    change_key: str
    categories: list[str] = Field(default_factory=list)
    flag_status: FlagStatus | None = None


class CaseRecord(_Record):
    case_id: str
    mailbox: str
    mailbox_department: str = Field(description="The department of the mailbox it arrived in")
    department: str = Field(description="The department that owns it; its supervisors hear of it")
    graph_message_id: str
    internet_message_id: str | None = None
    conversation_id: str | None = None
    received_at: UtcDateTime
    mime_sha256: str
    # Kept so that `routed` can carry them and downstream never reads the record (privacy: the
    # router never logs them).
    subject: str = ""
    sender: Party | None = None

    mail_class: MailClass | None = None
    confidence: float | None = None
    topics: list[str] = Field(default_factory=list)
    sensitive: list[SensitiveKind] = Field(default_factory=list)

    status: Status = Status.NY
    assignee: str | None = Field(default=None, description="Staff id in 'Tildelt til' (R11)")
    policy: AssignmentPolicy | None = None
    supervisors: list[str] = Field(default_factory=list)
    due_at: UtcDateTime | None = None
    completed_via: CompletedVia | None = None
    completed_at: UtcDateTime | None = None

    journalpost_id: str | None = None
    registry_number: str | None = None
    deleted: DeletionKind | None = Field(default=None, description="Left the mailbox (R13)")

    received_version: OutlookVersion | None = Field(
        default=None, description="The message as it arrived; the first write-back is planned on it"
    )
    writeback: WriteBack | None = None
    written_change_keys: list[str] = Field(
        default_factory=list, description="Change keys Graph gave our recent write-backs"
    )
    heard_change_keys: list[str] = Field(
        default_factory=list,
        description="Change keys of versions of the message a `changed` event told the router of",
    )
    heard_read_at: UtcDateTime | None = Field(
        default=None,
        description="When ingest read the newest version of the message heard (its `changed`)",
    )
    alerts_sent: list[AlertKind] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    applied_event_ids: list[str] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status is not Status.FERDIG


@dataclass(frozen=True)
class Transition:
    record: CaseRecord
    events: tuple[Event, ...] = ()
    changed: bool = False
    """False when the fact was already applied or changed nothing: skip the KV write."""
    replan_event_id: str | None = None
    """Set when a closed private case was reopened: `plan_case` it again, then `apply_plan` the
    plan with this id as its cause."""
    notes: tuple[str, ...] = ()


def _unchanged(record: CaseRecord, note: str = "") -> Transition:
    return Transition(record=record, notes=(note,) if note else ())


def _evolve(
    record: CaseRecord,
    *,
    event_id: str,
    at: datetime,
    who: str,
    what: str,
    why: str = "",
    extra_event_ids: Iterable[str] = (),
    **updates: Any,
) -> CaseRecord:
    """The record with `updates`, one more history entry and the causing fact remembered."""
    applied = [*record.applied_event_ids, event_id, *extra_event_ids][-MAX_APPLIED_EVENT_IDS:]
    entry = HistoryEntry(at=at, who=who, what=what, why=why, event_id=event_id)
    data = record.model_dump() | updates
    data["history"] = [*record.history, entry]
    data["applied_event_ids"] = applied
    return CaseRecord.model_validate(data)


def remember_fact(record: CaseRecord, event_id: str) -> CaseRecord:
    """The record with a fact marked applied, for facts that change nothing else in it."""
    applied = [*record.applied_event_ids, event_id][-MAX_APPLIED_EVENT_IDS:]
    return record.model_copy(update={"applied_event_ids": applied})


def remember_heard(record: CaseRecord, change_key: str | None, read_at: datetime) -> CaseRecord:
    """The record knowing that the version `change_key` of its message, read by ingest at
    `read_at`, was heard (and followed).

    A write-back that finds the message changed may then plan on that version: it holds no human
    intent the record does not already reflect.
    """
    heard = record.heard_change_keys
    if change_key is not None and change_key not in heard:
        heard = [*heard, change_key][-MAX_WRITTEN_CHANGE_KEYS:]
    newest = read_at if record.heard_read_at is None else max(read_at, record.heard_read_at)
    return record.model_copy(update={"heard_change_keys": heard, "heard_read_at": newest})


def _who(party: Party) -> str:
    return party.id or party.name or party.address


def _alert(
    record: CaseRecord,
    kind: AlertKind,
    cause_event_id: str,
    at: datetime,
    summary: str,
    severity: Severity = Severity.WARNING,
    department: str | None = None,
) -> Alert:
    return Alert(
        event_id=make_event_id(f"alert.{kind.value}", record.case_id, cause_event_id),
        case_id=record.case_id,
        occurred_at=at,
        department=department or record.department,
        kind=kind,
        severity=severity,
        summary=summary,
        case_ids=[record.case_id],
    )


def _routed(
    record: CaseRecord, ctx: RouterContext, cause_event_id: str, at: datetime
) -> MailRouted:
    if record.mail_class is None:
        raise CaseError(f"case {record.case_id} has no class yet and cannot be routed")
    previous = record.mailbox_department if record.department != record.mailbox_department else None
    return MailRouted(
        event_id=make_event_id("routed", record.case_id, cause_event_id),
        case_id=record.case_id,
        occurred_at=at,
        department=record.department,
        mail_class=record.mail_class,
        assignee=ctx.staff_party(record.assignee) if record.assignee else None,
        policy=record.policy or AssignmentPolicy.UNASSIGNED,
        supervisors=[ctx.staff_party(s) for s in record.supervisors],
        due_at=record.due_at,
        status=record.status,
        previous_department=previous,
        mailbox=record.mailbox,
        graph_message_id=record.graph_message_id,
        mime_sha256=record.mime_sha256,
        subject=record.subject,
        sender=record.sender,
        topics=list(record.topics),
        sensitive=list(record.sensitive),
        conversation_id=record.conversation_id,
    )


def open_case(received: MailReceived, mailbox_department: str) -> CaseRecord:
    """A new record for a received mail: status `ny`, owned by its mailbox's department."""
    return CaseRecord(
        case_id=received.case_id,
        mailbox=received.mailbox,
        mailbox_department=mailbox_department,
        department=mailbox_department,
        graph_message_id=received.graph_message_id,
        internet_message_id=received.internet_message_id,
        conversation_id=received.conversation_id,
        received_at=received.received_at,
        mime_sha256=received.mime_sha256,
        subject=received.subject,
        sender=received.sender,
        received_version=(
            OutlookVersion(
                change_key=received.change_key,
                categories=list(received.categories),
                flag_status=received.flag_status,
            )
            if received.change_key is not None
            else None
        ),
        history=[
            HistoryEntry(
                at=received.occurred_at,
                who=SYSTEM_ACTOR,
                what="received",
                why=f"arrived in {received.mailbox}",
                event_id=received.event_id,
            )
        ],
        applied_event_ids=[received.event_id],
    )


def apply_classified(
    record: CaseRecord,
    classified: MailClassified,
    plan: RoutingPlan,
    ctx: RouterContext,
    at: datetime,
) -> Transition:
    """The classifier's verdict and the routing planned from it (R9, R10, R11).

    Once a case has a class only humans change it (`reclassify`): a later verdict of the classifier
    is kept in the history and changes nothing else.
    """
    if classified.event_id in record.applied_event_ids:
        return _unchanged(record, "already applied")
    if record.mail_class is not None:
        updated = _evolve(
            record,
            event_id=classified.event_id,
            at=at,
            who=SYSTEM_ACTOR,
            what="classifier_ignored",
            why=f"already classified; classifier now says {classified.mail_class.value}",
        )
        return Transition(record=updated, changed=True)
    classified_record = record.model_copy(
        update={
            "mail_class": classified.mail_class,
            "confidence": classified.confidence,
            "topics": list(classified.topics),
            "sensitive": list(classified.sensitive),
        }
    )
    return apply_plan(classified_record, plan, classified.event_id, ctx, at)


def apply_plan(
    record: CaseRecord,
    plan: RoutingPlan,
    cause_event_id: str,
    ctx: RouterContext,
    at: datetime,
) -> Transition:
    """Department, assignee, status and deadline of a plan; publishes `routed` (and alerts)."""
    if cause_event_id in record.applied_event_ids:
        return _unchanged(record, "already applied")
    decision = plan.assignment
    closed = decision.status is Status.FERDIG
    updated = _evolve(
        record,
        event_id=cause_event_id,
        at=at,
        who=SYSTEM_ACTOR,
        what="routed",
        why=f"{plan.department.why}; {decision.policy.value}: {decision.why}",
        department=plan.department.department,
        assignee=decision.assignee,
        policy=decision.policy,
        status=decision.status,
        supervisors=plan.supervisors,
        due_at=plan.due_at,
        completed_via=CompletedVia.AUTO_PRIVAT if closed else None,
        completed_at=at if closed else None,
    )
    events: list[Event] = [_routed(updated, ctx, cause_event_id, at)]
    if closed:
        events.append(
            MailCompleted(
                event_id=make_event_id("completed", record.case_id, cause_event_id),
                case_id=record.case_id,
                occurred_at=at,
                department=updated.department,
                by=ctx.system_party(),
                via=CompletedVia.AUTO_PRIVAT,
            )
        )
    if decision.alert is not None:
        summary = (
            "Private mail the classifier is unsure of: a supervisor must confirm it"
            if decision.alert is AlertKind.CONFIRM_PRIVATE
            else "No available caseworker: the case is unassigned"
        )
        alert = _alert(updated, decision.alert, cause_event_id, at, summary)
        events.append(alert)
        updated = updated.model_copy(update={"alerts_sent": [*updated.alerts_sent, decision.alert]})
    return Transition(record=updated, events=tuple(events), changed=True)


def assign(
    record: CaseRecord,
    staff_id: str,
    *,
    by: str,
    policy: Literal[AssignmentPolicy.MANUAL, AssignmentPolicy.OUTLOOK],
    cause_event_id: str,
    ctx: RouterContext,
    at: datetime,
) -> Transition:
    """A human gives the case to `staff_id` (R11, R17); the new assignee is notified by `routed`.

    `by` is the acting staff id, or `outlook` when Graph does not say who changed the category.
    """
    if cause_event_id in record.applied_event_ids:
        return _unchanged(record, "already applied")
    if not ctx.org.may_be_assigned(record.department, staff_id):
        raise CaseError(
            f"{staff_id!r} is not a member of {record.department!r} and cannot take its cases (R8)"
        )
    if staff_id == record.assignee:
        return Transition(record=remember_fact(record, cause_event_id), changed=True)
    updated = _evolve(
        record,
        event_id=cause_event_id,
        at=at,
        who=by,
        what="assigned",
        why=f"from {record.assignee or 'nobody'} to {staff_id} ({policy.value})",
        assignee=staff_id,
        policy=policy,
        status=Status.TILDELT if record.is_open else Status.FERDIG,
    )
    return Transition(
        record=updated, events=(_routed(updated, ctx, cause_event_id, at),), changed=True
    )


def complete(
    record: CaseRecord,
    *,
    by: Party,
    via: CompletedVia,
    cause_event_id: str,
    at: datetime,
) -> Transition:
    """The case is Ferdig (R12), with who and how; a case already Ferdig stays as it was."""
    if cause_event_id in record.applied_event_ids:
        return _unchanged(record, "already applied")
    if not record.is_open:
        return Transition(record=remember_fact(record, cause_event_id), changed=True)
    updated = _evolve(
        record,
        event_id=cause_event_id,
        at=at,
        who=_who(by),
        what="completed",
        why=f"via {via.value}",
        status=Status.FERDIG,
        completed_via=via,
        completed_at=at,
    )
    event = MailCompleted(
        event_id=make_event_id("completed", record.case_id, cause_event_id),
        case_id=record.case_id,
        occurred_at=at,
        department=record.department,
        by=by,
        via=via,
    )
    return Transition(record=updated, events=(event,), changed=True)


def reclassify(
    record: CaseRecord,
    new_class: MailClass,
    *,
    by: Party,
    via: Literal[CompletedVia.OUTLOOK, CompletedVia.COMMAND],
    cause_event_id: str,
    ctx: RouterContext,
    at: datetime,
) -> Transition:
    """A human corrects the class (R17); publishes `classified` with `by`, and alerts supervisors.

    Marking an open case private closes it; un-marking a case closed as `auto_privat` reopens it
    for routing (see `Transition.replan_event_id`). After archiving the journalpost stays: the
    alert asks the supervisors to correct it in WebSak, since nothing is ever deleted (R13).
    """
    if cause_event_id in record.applied_event_ids:
        return _unchanged(record, "already applied")
    old_class = record.mail_class
    if old_class is None:
        raise CaseError(f"case {record.case_id} has no class yet; wait for the classifier")
    if new_class is old_class:
        return Transition(record=remember_fact(record, cause_event_id), changed=True)
    classified_id = make_event_id("classified", record.case_id, cause_event_id)
    archived = record.registry_number is not None
    reopen = not record.is_open and record.completed_via is CompletedVia.AUTO_PRIVAT
    reopen = reopen and new_class is not MailClass.PRIVAT
    close = record.is_open and new_class is MailClass.PRIVAT
    updates: dict[str, Any] = {"mail_class": new_class, "confidence": 1.0}
    if reopen:
        updates |= {
            "status": Status.NY,
            "assignee": None,
            "policy": None,
            "completed_via": None,
            "completed_at": None,
        }
    elif close:
        updates |= {"status": Status.FERDIG, "completed_via": via, "completed_at": at}
    elif record.is_open:
        sla = ctx.org.sla_for(record.department)
        updates["due_at"] = sla_due_at(
            ctx.calendar, sla, new_class, record.topics, record.received_at
        )
    why = f"{old_class.value} to {new_class.value} via {via.value}"
    updated = _evolve(
        record,
        event_id=cause_event_id,
        at=at,
        who=_who(by),
        what="reclassified",
        why=why + ("; correct the journalpost in WebSak" if archived else ""),
        # The router hears its own `classified` event again: it must not count as a new fact.
        extra_event_ids=[classified_id],
        **updates,
    )
    events: list[Event] = [
        MailClassified(
            event_id=classified_id,
            case_id=record.case_id,
            occurred_at=at,
            department=record.department,
            mail_class=new_class,
            confidence=1.0,
            sensitive=list(record.sensitive),
            topics=list(record.topics),
            reasons=[f"corrected by a person via {via.value}"],
            by=by,
        )
    ]
    if close:
        events.append(
            MailCompleted(
                event_id=make_event_id("completed", record.case_id, cause_event_id),
                case_id=record.case_id,
                occurred_at=at,
                department=record.department,
                by=by,
                via=via,
            )
        )
    elif updated.is_open and not reopen:
        events.append(_routed(updated, ctx, cause_event_id, at))
    summary = f"A person changed the class from {old_class.value} to {new_class.value}"
    events.append(
        _alert(
            updated,
            AlertKind.CLASS_CHANGED,
            cause_event_id,
            at,
            summary + (" after archiving: correct the journalpost in WebSak" if archived else ""),
            severity=Severity.WARNING if archived else Severity.INFO,
        )
    )
    return Transition(
        record=updated,
        events=tuple(events),
        changed=True,
        replan_event_id=make_event_id("replan", record.case_id, cause_event_id) if reopen else None,
    )


def note_deleted(record: CaseRecord, deleted: MailDeleted, at: datetime) -> Transition:
    """A mail left a shared mailbox (R13): Sakspost keeps its copy and tells the supervisors."""
    if deleted.event_id in record.applied_event_ids:
        return _unchanged(record, "already applied")
    if record.deleted is deleted.how:
        return Transition(record=remember_fact(record, deleted.event_id), changed=True)
    updated = _evolve(
        record,
        event_id=deleted.event_id,
        at=at,
        who=SYSTEM_ACTOR,
        what="deleted",
        why=f"{deleted.how.value} in {deleted.mailbox}; the copy in Sakspost stays",
        deleted=deleted.how,
    )
    where = (
        "moved to Deleted Items"
        if deleted.how is DeletionKind.MOVED_TO_DELETED_ITEMS
        else "removed from the mailbox"
    )
    alert = _alert(
        updated,
        AlertKind.DELETED,
        deleted.event_id,
        at,
        f"A mail in a shared mailbox was {where}; mail in Sakspost must not be deleted (R13)",
    )
    return Transition(record=updated, events=(alert,), changed=True)


def apply_archived(
    record: CaseRecord, archived: MailArchived, ctx: RouterContext, at: datetime
) -> Transition:
    """The mail is a journalpost in WebSak (R9a): the case is Ferdig `via: archive` (R12)."""
    if archived.event_id in record.applied_event_ids:
        return _unchanged(record, "already applied")
    was_open = record.is_open
    updated = _evolve(
        record,
        event_id=archived.event_id,
        at=at,
        who="websak",
        what="archived",
        why=f"journalpost {archived.registry_number} in {archived.archive_system}",
        journalpost_id=archived.journalpost_id,
        registry_number=archived.registry_number,
        status=Status.FERDIG,
        completed_via=CompletedVia.ARCHIVE if was_open else record.completed_via,
        completed_at=at if was_open else record.completed_at,
    )
    if not was_open:
        return Transition(record=updated, changed=True)
    event = MailCompleted(
        event_id=make_event_id("completed", record.case_id, archived.event_id),
        case_id=record.case_id,
        occurred_at=at,
        department=record.department,
        by=ctx.system_party(archived.archive_system),
        via=CompletedVia.ARCHIVE,
    )
    return Transition(record=updated, events=(event,), changed=True)


def note_written_back(
    record: CaseRecord,
    *,
    categories: list[str],
    flag_status: FlagStatus,
    flag_due: datetime | None,
    change_key: str | None,
    at: datetime,
) -> CaseRecord:
    """Remember what the router wrote to Outlook (and the change key Graph answered with)."""
    written = WriteBack(
        at=at,
        change_key=change_key,
        categories=list(categories),
        flag_status=flag_status,
        flag_due=flag_due,
    )
    keys = record.written_change_keys
    if change_key is not None:
        keys = [*keys, change_key][-MAX_WRITTEN_CHANGE_KEYS:]
    return record.model_copy(update={"writeback": written, "written_change_keys": keys})


def mark_alerted(
    record: CaseRecord, kind: AlertKind, alert_event_id: str, at: datetime
) -> Transition:
    """The watch fired `kind` for this case: it is not fired again for the same case."""
    if alert_event_id in record.applied_event_ids or kind in record.alerts_sent:
        return _unchanged(record, "already alerted")
    updated = _evolve(
        record,
        event_id=alert_event_id,
        at=at,
        who=SYSTEM_ACTOR,
        what="alerted",
        why=kind.value,
        alerts_sent=[*record.alerts_sent, kind],
    )
    return Transition(record=updated, changed=True)


def workload_for(records: Iterable[CaseRecord], conversation_id: str | None) -> Workload:
    """Open cases per assignee, and the caseworker of the first mail of the conversation."""
    open_cases: dict[str, int] = {}
    first: CaseRecord | None = None
    for record in records:
        if record.is_open and record.assignee is not None:
            open_cases[record.assignee] = open_cases.get(record.assignee, 0) + 1
        same_thread = conversation_id is not None and record.conversation_id == conversation_id
        earlier = first is None or record.received_at < first.received_at
        if same_thread and record.assignee is not None and earlier:
            first = record
    return Workload(open_cases=open_cases, conversation_assignee=first.assignee if first else None)
