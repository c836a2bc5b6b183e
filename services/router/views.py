"""Case records as the supervisors' commands show them (schemas/commands.py)."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import CaseDetail, CaseHistoryItem, CaseSummary
from schemas.events import Party
from services.router.context import RouterContext
from services.router.record import CaseRecord
from services.router.watch import is_overdue


def _party(ctx: RouterContext, staff_id: str) -> Party:
    try:
        return ctx.staff_party(staff_id)
    except KeyError:
        # Someone who left the staff list still shows, by id.
        return Party(address="", id=staff_id)


def summary(record: CaseRecord, ctx: RouterContext, now: datetime) -> CaseSummary:
    return CaseSummary(
        case_id=record.case_id,
        department=record.department,
        mailbox=record.mailbox,
        subject=record.subject,
        mail_class=record.mail_class,
        status=record.status,
        assignee=_party(ctx, record.assignee) if record.assignee else None,
        policy=record.policy,
        received_at=record.received_at,
        due_at=record.due_at,
        overdue=is_overdue(record, now),
        completed_via=record.completed_via,
        completed_at=record.completed_at,
    )


def detail(record: CaseRecord, ctx: RouterContext, now: datetime) -> CaseDetail:
    return CaseDetail(
        **summary(record, ctx, now).model_dump(),
        topics=list(record.topics),
        sensitive=list(record.sensitive),
        supervisors=[_party(ctx, staff_id) for staff_id in record.supervisors],
        registry_number=record.registry_number,
        deleted=record.deleted,
        history=[
            CaseHistoryItem(at=entry.at, who=entry.who, what=entry.what, why=entry.why)
            for entry in record.history
        ],
    )
