"""The case record's transitions: events, idempotency, append-only history (R10–R13, R17)."""

from __future__ import annotations

import pytest

from schemas.events import (
    Alert,
    ArchivedDocument,
    MailArchived,
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
    DocumentRole,
    MailClass,
    Severity,
    Status,
)
from services.router.context import RouterContext
from services.router.facts import AlertedFact, AssignFact, ClassifyFact, DoneFact
from services.router.plan import RoutingPlan, plan_request
from services.router.record import MAX_APPLIED_EVENT_IDS, CaseRecord
from services.router.transitions import CaseError, Transition, transition

from .builders import classified, oslo, plan_for, received, route, workload_for

AT = oslo(2026, 3, 10, 9)
LATER = oslo(2026, 3, 11, 9)
BOSS = Party(address="ingrid.grodem@ha.kommune.no", name="Ingrid Grødem", id="ingrid.grodem")


def _plan(ctx: RouterContext, mail: MailReceived, verdict: MailClassified) -> RoutingPlan:
    return plan_for(ctx, mail, verdict)


def _open(ctx: RouterContext, mail_class: MailClass = MailClass.OFFISIELL) -> CaseRecord:
    mail = received(at=AT)
    return route(ctx, mail, classified(mail, mail_class)).record


def _archived(record: CaseRecord) -> MailArchived:
    return MailArchived(
        event_id=make_event_id("archived", record.case_id),
        case_id=record.case_id,
        occurred_at=LATER,
        department=record.department,
        archive_system="WebSak",
        journalpost_id="jp-1",
        registry_number="2026/123-1",
        documents=[
            ArchivedDocument(
                role=DocumentRole.MAIN,
                filename="mail.pdf",
                media_type="application/pdf",
                sha256="0" * 64,
            )
        ],
    )


def _history_kept(before: CaseRecord, after: CaseRecord) -> None:
    # R13: history only grows; nothing before is changed.
    assert after.history[: len(before.history)] == before.history


def test_classified_mail_is_routed_with_a_deadline(ctx: RouterContext) -> None:  # R10, R11
    mail = received(at=AT)
    step = route(ctx, mail, classified(mail, MailClass.OFFISIELL))
    record = step.record
    assert (record.status, record.assignee) == (Status.TILDELT, "kristin.hovland")
    assert record.due_at == oslo(2026, 3, 13, 16)  # three working days
    (event,) = step.events
    assert isinstance(event, MailRouted)
    assert event.policy is AssignmentPolicy.LOAD
    assert event.assignee is not None
    assert event.assignee.id == "kristin.hovland"
    assert [s.id for s in event.supervisors] == ["ingrid.grodem"]
    assert event.event_id == make_event_id("routed", mail.case_id, classified(mail).event_id)
    assert [h.what for h in record.history] == ["received", "routed"]


def test_post_mail_moves_and_names_its_origin(ctx: RouterContext) -> None:  # R5, R10
    mail = received(mailbox="post@ha.kommune.no", at=AT)
    step = route(ctx, mail, classified(mail, suggested_department="helse"))
    assert step.record.department == "helse"
    (event,) = step.events
    assert isinstance(event, MailRouted)
    assert (event.department, event.previous_department) == ("helse", "post")
    assert event.nats_subject() == "sakspost.mail.routed.helse"


def _manual(record: CaseRecord, ctx: RouterContext, staff_id: str, cause: str) -> Transition:
    fact = AssignFact(cause, staff_id, by="ingrid.grodem", policy=AssignmentPolicy.MANUAL)
    return transition(record, fact, None, ctx, LATER)


def _done(record: CaseRecord, cause: str, ctx: RouterContext) -> Transition:
    return transition(record, DoneFact(cause, BOSS, CompletedVia.COMMAND), None, ctx, LATER)


def test_redelivered_facts_change_nothing(ctx: RouterContext) -> None:  # R11, R12
    mail = received(at=AT)
    verdict = classified(mail)
    first = route(ctx, mail, verdict)
    again = transition(first.record, verdict, _plan(ctx, mail, verdict), ctx, AT)
    assert (again.record, again.events, again.changed) == (first.record, (), False)
    moved = _manual(first.record, ctx, "gerd.skjaerpe", "cmd-1")
    repeat = _manual(moved.record, ctx, "gerd.skjaerpe", "cmd-1")
    assert (repeat.record, repeat.events, repeat.changed) == (moved.record, (), False)
    done = _done(moved.record, "cmd-2", ctx)
    assert (_done(done.record, "cmd-2", ctx).events, _done(done.record, "cmd-2", ctx).changed) == (
        (),
        False,
    )


def test_a_later_classifier_verdict_changes_no_class(ctx: RouterContext) -> None:  # R17
    mail = received(at=AT)
    record = route(ctx, mail, classified(mail)).record
    rerun = classified(mail, MailClass.PRIVAT).model_copy(update={"event_id": "rerun"})
    step = transition(record, rerun, _plan(ctx, mail, rerun), ctx, AT)
    assert step.record.mail_class is MailClass.ARKIVVERDIG
    assert step.events == ()
    assert step.record.history[-1].what == "classifier_ignored"


def test_manual_reassignment_publishes_routed(ctx: RouterContext) -> None:  # R11, R17
    record = _open(ctx)
    step = _manual(record, ctx, "gerd.skjaerpe", "cmd-1")
    (event,) = step.events
    assert isinstance(event, MailRouted)
    assert event.assignee is not None
    assert event.assignee.id == "gerd.skjaerpe"
    assert event.policy is AssignmentPolicy.MANUAL
    assert step.record.history[-1].who == "ingrid.grodem"
    _history_kept(record, step.record)
    with pytest.raises(CaseError, match="not a member of 'bygg'"):  # R8
        _manual(record, ctx, "berit.aase", "cmd-2")


def test_completion_records_who_and_how(ctx: RouterContext) -> None:  # R12
    record = _open(ctx)
    step = _done(record, "cmd-9", ctx)
    (event,) = step.events
    assert isinstance(event, MailCompleted)
    assert (event.via, event.by.id) == (CompletedVia.COMMAND, "ingrid.grodem")
    assert step.record.status is Status.FERDIG
    assert step.record.completed_at == LATER
    assert step.record.history[-1].who == "ingrid.grodem"


def test_archiving_makes_the_case_ferdig(ctx: RouterContext) -> None:  # R9a, R12
    record = _open(ctx, MailClass.ARKIVVERDIG)
    step = transition(record, _archived(record), None, ctx, LATER)
    (event,) = step.events
    assert isinstance(event, MailCompleted)
    assert event.via is CompletedVia.ARCHIVE
    assert step.record.registry_number == "2026/123-1"
    # Already Ferdig by hand: the registry number is kept, no second completion.
    done = _done(record, "cmd-1", ctx).record
    late = transition(done, _archived(done), None, ctx, LATER)
    assert late.events == ()
    assert late.record.completed_via is CompletedVia.COMMAND
    assert late.record.registry_number == "2026/123-1"


def test_class_correction_after_archiving_alerts(ctx: RouterContext) -> None:  # R17, R13
    opened = _open(ctx, MailClass.ARKIVVERDIG)
    record = transition(opened, _archived(opened), None, ctx, LATER).record
    step = transition(
        record,
        ClassifyFact("cmd-5", MailClass.OFFISIELL, BOSS, CompletedVia.COMMAND),
        None,
        ctx,
        LATER,
    )
    kinds = [type(e) for e in step.events]
    assert kinds == [MailClassified, Alert]
    verdict, alert = step.events
    assert isinstance(verdict, MailClassified)
    assert isinstance(alert, Alert)
    assert verdict.by == BOSS
    assert verdict.event_id in step.record.applied_event_ids  # our own event coming back
    assert alert.kind is AlertKind.CLASS_CHANGED
    assert alert.severity is Severity.WARNING
    assert "WebSak" in alert.summary
    assert step.record.registry_number == "2026/123-1"  # nothing is deleted
    _history_kept(record, step.record)


def test_class_correction_of_an_open_case_moves_the_deadline(ctx: RouterContext) -> None:  # R17
    record = _open(ctx, MailClass.OFFISIELL)
    step = transition(
        record,
        ClassifyFact("c", MailClass.ARKIVVERDIG, BOSS, CompletedVia.COMMAND),
        None,
        ctx,
        LATER,
    )
    assert step.record.due_at == oslo(2026, 3, 11, 16)
    assert [type(e) for e in step.events] == [MailClassified, MailRouted, Alert]
    alert = step.events[-1]
    assert isinstance(alert, Alert)
    assert alert.severity is Severity.INFO


def test_private_by_hand_closes_and_unprivate_reopens(ctx: RouterContext) -> None:  # R9d, R17
    record = _open(ctx, MailClass.OFFISIELL)
    closed = transition(
        record,
        ClassifyFact("o-1", MailClass.PRIVAT, BOSS, CompletedVia.OUTLOOK),
        None,
        ctx,
        LATER,
    )
    assert closed.record.status is Status.FERDIG
    assert [type(e) for e in closed.events] == [MailClassified, MailCompleted, Alert]

    auto = _open(ctx, MailClass.PRIVAT)
    assert (auto.status, auto.completed_via) == (Status.FERDIG, CompletedVia.AUTO_PRIVAT)
    # Un-marking it reopens it for routing: the plan is made before the transition.
    correction = ClassifyFact("o-2", MailClass.OFFISIELL, BOSS, CompletedVia.OUTLOOK)
    request = plan_request(auto, correction, ctx.org)
    assert request is not None
    assert (request.facts.mail_class, request.facts.confidence) == (MailClass.OFFISIELL, 1.0)
    with pytest.raises(ValueError, match="needs a routing plan"):
        transition(auto, correction, None, ctx, LATER)
    mail = received(at=AT)
    plan = _plan(ctx, mail, classified(mail, MailClass.OFFISIELL))
    routed = transition(auto, correction, plan, ctx, LATER)
    assert routed.record.status is Status.TILDELT
    assert routed.record.assignee is not None
    assert [type(e) for e in routed.events] == [MailClassified, Alert, MailRouted]
    replan = make_event_id("replan", auto.case_id, "o-2")
    assert routed.events[-1].event_id == make_event_id("routed", auto.case_id, replan)
    assert [h.what for h in routed.record.history][-2:] == ["reclassified", "routed"]
    # The record alone says whether a fact needs a plan.
    assert plan_request(closed.record, correction, ctx.org) is None
    assert plan_request(routed.record, classified(mail), ctx.org) is None


def test_unsure_private_mail_alerts_and_is_remembered(ctx: RouterContext) -> None:  # R9d, R10
    mail = received(at=AT)
    step = route(ctx, mail, classified(mail, MailClass.PRIVAT, confidence=0.5))
    assert step.record.assignee == "ingrid.grodem"
    alert = step.events[-1]
    assert isinstance(alert, Alert)
    assert alert.kind is AlertKind.CONFIRM_PRIVATE
    assert step.record.alerts_sent == [AlertKind.CONFIRM_PRIVATE]


def test_deletion_alerts_once_and_keeps_the_case(ctx: RouterContext) -> None:  # R13
    record = _open(ctx)
    deleted = MailDeleted(
        event_id="del-1",
        case_id=record.case_id,
        occurred_at=LATER,
        department="bygg",
        mailbox=record.mailbox,
        graph_message_id=record.graph_message_id,
        how=DeletionKind.MOVED_TO_DELETED_ITEMS,
    )
    step = transition(record, deleted, None, ctx, LATER)
    (alert,) = step.events
    assert isinstance(alert, Alert)
    assert (alert.kind, alert.department) == (AlertKind.DELETED, "bygg")
    assert step.record.status is record.status
    again = transition(
        step.record, deleted.model_copy(update={"event_id": "del-2"}), None, ctx, LATER
    )
    assert again.events == ()


def test_alerts_are_marked_once(ctx: RouterContext) -> None:  # R10
    record = _open(ctx)
    marked = transition(record, AlertedFact("alert-1", AlertKind.OVERDUE), None, ctx, LATER)
    assert marked.record.alerts_sent == [AlertKind.OVERDUE]
    assert (
        transition(
            marked.record, AlertedFact("alert-2", AlertKind.OVERDUE), None, ctx, LATER
        ).changed
        is False
    )


def test_remembered_fact_ids_are_bounded(ctx: RouterContext) -> None:
    record = _open(ctx)
    for number in range(MAX_APPLIED_EVENT_IDS + 5):
        record = _manual(
            record, ctx, ["gerd.skjaerpe", "torbjorn.fotland"][number % 2], f"cmd-{number}"
        ).record
    assert len(record.applied_event_ids) == MAX_APPLIED_EVENT_IDS
    assert len(record.history) == MAX_APPLIED_EVENT_IDS + 7  # received, routed, every change


def test_workload_and_first_caseworker_of_a_conversation(ctx: RouterContext) -> None:  # R11
    first = _open(ctx)
    reply_mail = received(at=LATER, message_id="m2@example.invalid")
    reply = route(
        ctx,
        reply_mail,
        classified(reply_mail),
        workload=workload_for([first], reply_mail.conversation_id),
    )
    (event,) = reply.events
    assert isinstance(event, MailRouted)
    assert (event.policy, reply.record.assignee) == (AssignmentPolicy.THREAD, first.assignee)
    load = workload_for([first, reply.record], None)
    assert load.open_cases == {"kristin.hovland": 2}
    assert load.conversation_assignee is None
