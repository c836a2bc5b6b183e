"""One routing decision for a classified mail: department, assignee and deadline together."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from schemas.vocab import Status
from services.common.standin import supervisors_on_duty
from services.router.assignment import (
    AssignmentDecision,
    MailFacts,
    Rotation,
    Workload,
    choose_assignee,
)
from services.router.context import RouterContext
from services.router.routing import DepartmentDecision, route_department
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


def plan_case(
    ctx: RouterContext,
    *,
    mailbox_department: str,
    suggested_department: str | None,
    facts: MailFacts,
    received_at: datetime,
    workload: Workload,
    away: Collection[str],
    rotation: Rotation,
) -> RoutingPlan:
    department = route_department(
        ctx.org, mailbox_department, suggested_department, facts.confidence
    )
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
