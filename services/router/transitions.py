"""Every change a fact makes to a case record, as one pure function (R8, R10–R13, R17).

`transition(record, fact, plan, ctx, at)` takes the record, the fact (`facts.py`), the routing plan
made for it beforehand when it needs one (`plan.plan_request`) and the moment, and returns the new
record and the events to publish. It does no I/O and asks for nothing: the caller (`flow.py`) can
redo it on fresh data after a lost compare-and-set.

One guard makes it idempotent: a fact whose id the record already applied changes nothing and
publishes nothing. Event ids are derived from the id of the fact that caused them, so a redelivered
fact publishes events JetStream drops as duplicates. Pass `at` from the causing fact, not from the
wall clock, so that the payloads are identical too. History is append-only (R13).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.events import (
    Alert,
    Event,
    MailArchived,
    MailChanged,
    MailClassified,
    MailCompleted,
    MailDeleted,
    MailReceived,
    MailRouted,
    Party,
)
from schemas.identity import make_event_id
from schemas.vocab import (
    AlertKind,
    AssignmentPolicy,
    CompletedVia,
    DeletionKind,
    MailClass,
    Severity,
    Status,
)
from services.router.context import SYSTEM_ACTOR, RouterContext
from services.router.facts import AssignFact, ClassifyFact, DoneFact, Fact, fact_id
from services.router.outlook import Reassign, Reclassify, is_overtaken, read_change
from services.router.plan import RoutingPlan, reopens
from services.router.record import (
    MAX_APPLIED_EVENT_IDS,
    MAX_WRITTEN_CHANGE_KEYS,
    CaseRecord,
    HistoryEntry,
    OutlookVersion,
)
from services.router.sla import due_at as sla_due_at


class CaseError(ValueError):
    """A command or change that cannot apply to this case; the message says why."""


@dataclass(frozen=True)
class Transition:
    record: CaseRecord
    events: tuple[Event, ...] = ()
    changed: bool = False
    """False when the fact was already applied or changed nothing: skip the KV write."""
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


def _remember_fact(record: CaseRecord, event_id: str) -> CaseRecord:
    """The record with a fact marked applied, for facts that change nothing else in it."""
    applied = [*record.applied_event_ids, event_id][-MAX_APPLIED_EVENT_IDS:]
    return record.model_copy(update={"applied_event_ids": applied})


def _remember_heard(record: CaseRecord, change_key: str | None, read_at: datetime) -> CaseRecord:
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


def _completed(
    record: CaseRecord, cause_event_id: str, at: datetime, by: Party, via: CompletedVia
) -> MailCompleted:
    return MailCompleted(
        event_id=make_event_id("completed", record.case_id, cause_event_id),
        case_id=record.case_id,
        occurred_at=at,
        department=record.department,
        by=by,
        via=via,
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


def transition(
    record: CaseRecord, fact: Fact, plan: RoutingPlan | None, ctx: RouterContext, at: datetime
) -> Transition:
    """What `fact` makes of `record` at `at`: the new record and the events to publish.

    `plan` is the routing plan made for the fact when `plan.plan_request` asked for one (and
    ignored otherwise). A fact the record already applied changes nothing.
    """
    if fact_id(fact) in record.applied_event_ids:
        return _unchanged(record, "already applied")
    if isinstance(fact, MailClassified):
        if record.mail_class is not None:
            return _classifier_ignored(record, fact, at)
        return _classified(record, fact, _needed(plan, record), ctx, at)
    if isinstance(fact, MailArchived):
        return _archived(record, fact, ctx, at)
    if isinstance(fact, MailChanged):
        return _heard(record, fact, plan, ctx, at)
    if isinstance(fact, MailDeleted):
        return _deleted(record, fact, at)
    if isinstance(fact, AssignFact):
        return _assign(record, fact, ctx, at)
    if isinstance(fact, DoneFact):
        return _complete(record, fact, at)
    if isinstance(fact, ClassifyFact):
        step = _reclassify(record, fact, ctx, at)
        return (
            _rerouted(step, plan, fact.fact_id, ctx, at)
            if reopens(record, fact.mail_class)
            else step
        )
    return _alerted(record, fact.kind, fact.fact_id, at)


def _needed(plan: RoutingPlan | None, record: CaseRecord) -> RoutingPlan:
    if plan is None:
        raise ValueError(f"case {record.case_id}: this fact needs a routing plan")
    return plan


def _rerouted(
    step: Transition,
    plan: RoutingPlan | None,
    cause_event_id: str,
    ctx: RouterContext,
    at: datetime,
) -> Transition:
    """After a class correction reopened a closed private case: route it on `plan`."""
    record = step.record
    routed = _routed_by(
        record,
        _needed(plan, record),
        make_event_id("replan", record.case_id, cause_event_id),
        ctx,
        at,
    )
    return Transition(
        record=routed.record,
        events=(*step.events, *routed.events),
        changed=True,
        notes=(*step.notes, *routed.notes),
    )


def _heard(
    record: CaseRecord,
    changed: MailChanged,
    plan: RoutingPlan | None,
    ctx: RouterContext,
    at: datetime,
) -> Transition:
    """Apply what a human meant in Outlook: class first, then assignee, then Ferdig; a case the
    class correction reopened is routed last, on `plan`."""
    if is_overtaken(record, changed):
        return Transition(
            record=_remember_fact(record, changed.event_id),
            changed=True,
            notes=("older than a version of the message already heard",),
        )
    reading = read_change(record, changed, ctx.org)
    # Graph does not say who changed a message: the mailbox stands for the person.
    by = Party(address=record.mailbox, name="Outlook")
    current = record
    events: list[Event] = []
    reopened_by: str | None = None
    for intent in reading.intents:
        kind = type(intent).__name__.lower()
        cause = make_event_id(f"outlook.{kind}", record.case_id, changed.event_id)
        if isinstance(intent, Reclassify):
            if reopens(current, intent.mail_class):
                reopened_by = cause
            correction = ClassifyFact(cause, intent.mail_class, by, CompletedVia.OUTLOOK)
            step = _reclassify(current, correction, ctx, at)
        elif isinstance(intent, Reassign):
            # Graph does not say who changed the category.
            reassignment = AssignFact(cause, intent.staff_id, "outlook", AssignmentPolicy.OUTLOOK)
            step = _assign(current, reassignment, ctx, at)
        else:
            step = _complete(current, DoneFact(cause, by, CompletedVia.OUTLOOK), at)
        current = step.record
        events.extend(step.events)
    heard = Transition(
        record=_remember_heard(
            _remember_fact(current, changed.event_id), changed.change_key, changed.occurred_at
        ),
        events=tuple(events),
        changed=True,
        notes=reading.ignored,
    )
    if reopened_by is None:
        return heard
    return _rerouted(heard, plan, reopened_by, ctx, at)


def _classifier_ignored(record: CaseRecord, classified: MailClassified, at: datetime) -> Transition:
    """Once a case has a class only humans change it (`ClassifyFact`): a later verdict of the
    classifier is kept in the history and changes nothing else (R17)."""
    updated = _evolve(
        record,
        event_id=classified.event_id,
        at=at,
        who=SYSTEM_ACTOR,
        what="classifier_ignored",
        why=f"already classified; classifier now says {classified.mail_class.value}",
    )
    return Transition(record=updated, changed=True)


def _classified(
    record: CaseRecord,
    classified: MailClassified,
    plan: RoutingPlan,
    ctx: RouterContext,
    at: datetime,
) -> Transition:
    """The classifier's verdict and the routing planned from it (R9, R10, R11)."""
    classified_record = record.model_copy(
        update={
            "mail_class": classified.mail_class,
            "confidence": classified.confidence,
            "class_reasons": list(classified.reasons),
            "topics": list(classified.topics),
            "sensitive": list(classified.sensitive),
        }
    )
    return _routed_by(classified_record, plan, classified.event_id, ctx, at)


def _routed_by(
    record: CaseRecord,
    plan: RoutingPlan,
    cause_event_id: str,
    ctx: RouterContext,
    at: datetime,
) -> Transition:
    """Department, assignee, status and deadline of a plan; publishes `routed` (and alerts)."""
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
            _completed(updated, cause_event_id, at, ctx.system_party(), CompletedVia.AUTO_PRIVAT)
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


def _assign(record: CaseRecord, fact: AssignFact, ctx: RouterContext, at: datetime) -> Transition:
    """A human gives the case to `staff_id` (R11, R17); the new assignee is notified by `routed`."""
    staff_id, by, policy, cause_event_id = fact.staff_id, fact.by, fact.policy, fact.fact_id
    if not ctx.org.may_be_assigned(record.department, staff_id):
        raise CaseError(
            f"{staff_id!r} is not a member of {record.department!r} and cannot take its cases (R8)"
        )
    if staff_id == record.assignee:
        return Transition(record=_remember_fact(record, cause_event_id), changed=True)
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


def _complete(record: CaseRecord, fact: DoneFact, at: datetime) -> Transition:
    """The case is Ferdig (R12), with who and how; a case already Ferdig stays as it was."""
    by, via, cause_event_id = fact.by, fact.via, fact.fact_id
    if not record.is_open:
        return Transition(record=_remember_fact(record, cause_event_id), changed=True)
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
    event = _completed(updated, cause_event_id, at, by, via)
    return Transition(record=updated, events=(event,), changed=True)


def _reclassify(
    record: CaseRecord, fact: ClassifyFact, ctx: RouterContext, at: datetime
) -> Transition:
    """A human corrects the class (R17); publishes `classified` with `by`, and alerts supervisors.

    Marking an open case private closes it; un-marking a case closed as `auto_privat` reopens it
    (`plan.reopens`), and the caller routes it on the plan made for it. After archiving the
    journalpost stays: the alert asks the supervisors to correct it in WebSak, since nothing is
    ever deleted (R13).
    """
    new_class, by, via, cause_event_id = fact.mail_class, fact.by, fact.via, fact.fact_id
    old_class = record.mail_class
    if old_class is None:
        raise CaseError(f"case {record.case_id} has no class yet; wait for the classifier")
    if new_class is old_class:
        return Transition(record=_remember_fact(record, cause_event_id), changed=True)
    classified_id = make_event_id("classified", record.case_id, cause_event_id)
    archived = record.registry_number is not None
    reopen = reopens(record, new_class)
    close = record.is_open and new_class is MailClass.PRIVAT
    person = [f"corrected by a person via {via.value}"]
    updates: dict[str, Any] = {
        "mail_class": new_class,
        "confidence": 1.0,
        "class_reasons": person,
    }
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
            reasons=person,
            by=by,
        )
    ]
    if close:
        events.append(_completed(updated, cause_event_id, at, by, via))
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
    return Transition(record=updated, events=tuple(events), changed=True)


def _deleted(record: CaseRecord, deleted: MailDeleted, at: datetime) -> Transition:
    """A mail left a shared mailbox (R13): Sakspost keeps its copy and tells the supervisors."""
    if record.deleted is deleted.how:
        return Transition(record=_remember_fact(record, deleted.event_id), changed=True)
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


def _archived(
    record: CaseRecord, archived: MailArchived, ctx: RouterContext, at: datetime
) -> Transition:
    """The mail is a journalpost in WebSak (R9a): the case is Ferdig `via: archive` (R12)."""
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
    by = ctx.system_party(archived.archive_system)
    event = _completed(updated, archived.event_id, at, by, CompletedVia.ARCHIVE)
    return Transition(record=updated, events=(event,), changed=True)


def _alerted(record: CaseRecord, kind: AlertKind, alert_event_id: str, at: datetime) -> Transition:
    """The watch fired `kind` for this case: it is not fired again for the same case."""
    if kind in record.alerts_sent:
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
