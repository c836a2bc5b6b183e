"""Builders for the router's tests: events as the wiring hands them over, and Oslo times."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.events import MailClassified, MailReceived, Party
from schemas.identity import make_case_id, make_event_id
from schemas.vocab import MailClass, SensitiveKind
from services.router.assignment import MailFacts, Rotation, Workload
from services.router.case import Transition, apply_classified, open_case
from services.router.context import RouterContext
from services.router.plan import plan_case

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


def route(
    ctx: RouterContext,
    mail: MailReceived,
    verdict: MailClassified,
    *,
    away: frozenset[str] = frozenset(),
    workload: Workload | None = None,
) -> Transition:
    """What the router's handler does with a `classified` event, with no I/O."""
    record = open_case(mail, mail.department)
    plan = plan_case(
        ctx,
        mailbox_department=mail.department,
        suggested_department=verdict.suggested_department,
        facts=MailFacts.from_events(mail, verdict),
        received_at=mail.received_at,
        workload=workload or Workload(open_cases={}),
        away=away,
        rotation=Rotation(),
    )
    return apply_classified(record, verdict, plan, ctx, verdict.occurred_at)
