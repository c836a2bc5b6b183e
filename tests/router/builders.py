"""Builders for the router's tests: events as the wiring hands them over, and Oslo times."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.events import MailClassified, MailReceived, Party
from schemas.identity import make_case_id, make_event_id
from schemas.vocab import MailClass, SensitiveKind
from services.router.assignment import MailFacts, Rotation, Workload
from services.router.context import RouterContext
from services.router.plan import RoutingPlan, plan_case
from services.router.record import CaseRecord
from services.router.routing import route_department
from services.router.transitions import Transition, open_case, transition

OSLO = ZoneInfo("Europe/Oslo")
CONFIG = Path(__file__).resolve().parents[2] / "config" / "ha-kommune.yaml"


def oslo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=OSLO)


def received(
    *,
    mailbox: str = "bygg@ha.kommune.no",
    message_id: str = "m1@example.invalid",
    at: datetime,
    subject: str = "Søknad",
    sender: str = "innbyggjar@example.invalid",
    conversation_id: str | None = "conv-1",
) -> MailReceived:
    return MailReceived.build(
        case_id=make_case_id(mailbox, message_id, f"graph-{message_id}"),
        department=mailbox.split("@")[0],
        mailbox=mailbox,
        internet_message_id=message_id,
        graph_message_id=f"graph-{message_id}",
        conversation_id=conversation_id,
        sender=Party(address=sender),
        subject=subject,
        received_at=at,
        mime_sha256=hashlib.sha256(message_id.encode()).hexdigest(),
        mime_size=100,
    )


def classified(
    mail: MailReceived,
    mail_class: MailClass = MailClass.ARKIVVERDIG,
    *,
    confidence: float = 0.95,
    topics: tuple[str, ...] = (),
    sensitive: tuple[SensitiveKind, ...] = (),
    suggested_department: str | None = None,
) -> MailClassified:
    return MailClassified(
        event_id=make_event_id("classified", mail.case_id, "rules-1"),
        case_id=mail.case_id,
        occurred_at=mail.received_at,
        department=mail.department,
        mail_class=mail_class,
        confidence=confidence,
        topics=list(topics),
        sensitive=list(sensitive),
        suggested_department=suggested_department,
    )


def plan_for(
    ctx: RouterContext,
    mail: MailReceived,
    verdict: MailClassified,
    *,
    away: Collection[str] = frozenset(),
    workload: Workload | None = None,
) -> RoutingPlan:
    """The plan the router's planner makes for a `classified` event, with no I/O."""
    department = route_department(
        ctx.org, mail.department, verdict.suggested_department, verdict.confidence
    )
    return plan_case(
        ctx,
        department=department,
        facts=MailFacts.from_events(mail, verdict),
        received_at=mail.received_at,
        workload=workload or Workload(open_cases={}),
        away=away,
        rotation=Rotation(),
    )


def route(
    ctx: RouterContext,
    mail: MailReceived,
    verdict: MailClassified,
    *,
    away: frozenset[str] = frozenset(),
    workload: Workload | None = None,
) -> Transition:
    """What the router's flow does with a `classified` event, with no I/O."""
    record = open_case(mail, mail.department)
    plan = plan_for(ctx, mail, verdict, away=away, workload=workload)
    return transition(record, verdict, plan, ctx, verdict.occurred_at)


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
