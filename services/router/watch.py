"""The watch (R10): which alerts are due now, and the overdue filter of `sakspost cases list`.

A case is *overdue* when it is open after its `due_at`; it is *unassigned too long* when it has had
no caseworker for more than its department's `assign_within_hours` of office time since it arrived.
Alerts are grouped per department and kind, and fire once per case and kind: `watch_task.py` marks
each listed case (an `AlertedFact`) after publishing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from schemas.events import Alert
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, Status
from services.router.context import RouterContext
from services.router.record import CaseRecord


def is_overdue(record: CaseRecord, now: datetime) -> bool:
    return record.is_open and record.due_at is not None and now > record.due_at


def is_unassigned_too_long(record: CaseRecord, now: datetime, ctx: RouterContext) -> bool:
    if not record.is_open or record.assignee is not None:
        return False
    hours = ctx.org.sla_for(record.department).assign_within_hours
    return now > ctx.calendar.add_working_hours(record.received_at, hours)


def select_cases(
    records: Iterable[CaseRecord],
    now: datetime,
    *,
    department: str | None = None,
    status: Status | None = None,
    assignee: str | None = None,
    overdue: bool = False,
) -> list[CaseRecord]:
    """The cases a supervisor asked for, earliest deadline first (no deadline last)."""
    chosen = [
        r
        for r in records
        if (department is None or r.department == department)
        and (status is None or r.status is status)
        and (assignee is None or r.assignee == assignee)
        and (not overdue or is_overdue(r, now))
    ]
    return sorted(chosen, key=lambda r: (r.due_at is None, r.due_at or r.received_at, r.case_id))


_SUMMARIES = {
    AlertKind.UNASSIGNED: "{n} case(s) without a caseworker past the time allowed",
    AlertKind.OVERDUE: "{n} open case(s) past their deadline",
}


def due_alerts(records: Iterable[CaseRecord], now: datetime, ctx: RouterContext) -> list[Alert]:
    groups: dict[tuple[str, AlertKind], list[str]] = {}
    for record in records:
        due_kinds: list[AlertKind] = []
        if is_unassigned_too_long(record, now, ctx):
            due_kinds.append(AlertKind.UNASSIGNED)
        if is_overdue(record, now):
            due_kinds.append(AlertKind.OVERDUE)
        for kind in due_kinds:
            if kind not in record.alerts_sent:
                groups.setdefault((record.department, kind), []).append(record.case_id)
    alerts: list[Alert] = []
    for (department, kind), case_ids in sorted(groups.items()):
        ids = sorted(case_ids)
        alerts.append(
            Alert(
                # The same cases overdue again give the same id: JetStream drops the repeat.
                event_id=make_event_id(f"alert.{kind.value}", department, *ids),
                case_id=None,
                occurred_at=now,
                department=department,
                kind=kind,
                summary=_SUMMARIES[kind].format(n=len(ids)),
                case_ids=ids,
            )
        )
    return alerts
