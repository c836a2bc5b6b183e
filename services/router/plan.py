"""Routing plans, pure: which facts call for one, and the plan itself (department, assignee and
deadline together, R5, R9–R11).

A plan is made before the case record is changed (`planner.py` gathers its inputs), so applying a
fact (`transitions.py`) never needs to ask for one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas.events import MailChanged, MailClassified
from schemas.vocab import CompletedVia, MailClass, Status
from services.common.orgconfig import Organisation
from services.common.standin import supervisors_on_duty
from services.router.assignment import (
    AssignmentDecision,
    MailFacts,
    Rotation,
    Workload,
    choose_assignee,
)
from services.router.context import RouterContext
from services.router.facts import ClassifyFact, Fact
from services.router.outlook import Reclassify, is_overtaken, read_change
from services.router.record import CaseRecord
from services.router.routing import DepartmentDecision
from services.router.sla import due_at


@dataclass(frozen=True)
class RoutingPlan:
    department: DepartmentDecision
    assignment: AssignmentDecision
    supervisors: list[str]
    """Staff ids who hear about the case now (deputies standing in for away supervisors)."""
    due_at: datetime | None
    """None when the case is closed at once or its class has no deadline."""

    @property
    def rotation(self) -> Rotation:
        """The round-robin state to store (changed only when `load` picked someone)."""
        return self.assignment.rotation


@dataclass(frozen=True)
class PlanRequest:
    """What a fact asks to be routed on: the mail's facts and the classifier's department."""

    facts: MailFacts
    suggested_department: str | None = None


def reopens(record: CaseRecord, new_class: MailClass) -> bool:
    """Whether a class correction reopens the case for routing: a case closed as private on its
    own (`auto_privat`) or confirmed so by a supervisor (`confirmed_private`) that a person says
    is not private after all (R9d, R17)."""
    return (
        not record.is_open
        and record.completed_via in (CompletedVia.AUTO_PRIVAT, CompletedVia.CONFIRMED_PRIVATE)
        and record.mail_class is not None
        and new_class is not record.mail_class
        and new_class is not MailClass.PRIVAT
    )


def _facts(
    record: CaseRecord, mail_class: MailClass, confidence: float, topics: Sequence[str]
) -> MailFacts:
    """What the assignment policies may look at: the class given now, the mail from the record."""
    return MailFacts(
        mail_class=mail_class,
        confidence=confidence,
        sender=record.sender.address if record.sender else None,
        subject=record.subject,
        topics=tuple(topics),
        conversation_id=record.conversation_id,
    )


def _corrected(record: CaseRecord, new_class: MailClass) -> PlanRequest | None:
    if not reopens(record, new_class):
        return None
    return PlanRequest(_facts(record, new_class, 1.0, record.topics))  # a person's class


def plan_request(record: CaseRecord, fact: Fact, org: Organisation) -> PlanRequest | None:
    """What to plan before `fact` is applied to `record`, or None when it needs no plan.

    A plan is needed by a classified mail not yet classified, and by a class correction (by
    command or in Outlook) that reopens a case closed as private on its own.
    """
    if isinstance(fact, MailClassified):
        if record.mail_class is not None or fact.event_id in record.applied_event_ids:
            return None
        facts = _facts(record, fact.mail_class, fact.confidence, fact.topics)
        return PlanRequest(facts, fact.suggested_department)
    if isinstance(fact, ClassifyFact):
        if fact.fact_id in record.applied_event_ids:
            return None
        return _corrected(record, fact.mail_class)
    if isinstance(fact, MailChanged):
        if fact.event_id in record.applied_event_ids or is_overtaken(record, fact):
            return None
        for intent in read_change(record, fact, org).intents:
            if isinstance(intent, Reclassify):
                return _corrected(record, intent.mail_class)
    return None


def plan_case(
    ctx: RouterContext,
    *,
    department: DepartmentDecision,
    facts: MailFacts,
    received_at: datetime,
    workload: Workload,
    away: Collection[str],
    rotation: Rotation,
) -> RoutingPlan:
    """The plan for a case of `department` (`routing.route_department`)."""
    key = department.department
    assignment = choose_assignee(ctx.org, key, facts, workload, away, rotation)
    deadline = (
        None
        if assignment.status is Status.FERDIG
        else due_at(ctx.calendar, ctx.org.sla_for(key), facts.mail_class, facts.topics, received_at)
    )
    return RoutingPlan(
        department=department,
        assignment=assignment,
        supervisors=supervisors_on_duty(ctx.org, key, away),
        due_at=deadline,
    )
