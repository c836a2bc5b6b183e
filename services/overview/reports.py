"""A department's report for a week or a month (issue 19): pure computation over case views.

Counted are the cases received in the period (in the organisation's time zone): how many per
class, how many archived (a registry number or journalpost), how many went past their deadline
(Ferdig after it, or still open past it now), and the median and 90th percentile of the hours from
receipt to assignment and to Ferdig. Assignment is the first history entry that gave the case an
assignee: `assigned`, or the router's `routed` when the case has had an assignee since.
Percentiles are nearest-rank, so every figure is a time some case actually took.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from schemas.vocab import MailClass
from services.overview.readmodel import CaseView


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def period_span(period: Period, day: date, timezone: str) -> Span:
    """The week (Monday to Monday) or calendar month holding `day`, in the organisation's zone."""
    zone = ZoneInfo(timezone)
    if period is Period.WEEK:
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    return Span(
        datetime.combine(first, time(), tzinfo=zone), datetime.combine(after, time(), tzinfo=zone)
    )


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (`share` in (0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def assigned_at(case: CaseView) -> datetime | None:
    for entry in case.history:
        if entry.what == "assigned" or (entry.what == "routed" and case.assignee is not None):
            return entry.at
    return None


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def is_overdue(case: CaseView, now: datetime) -> bool:
    if case.due_at is None:
        return False
    finished = case.completed_at if case.completed_at is not None else now
    return finished > case.due_at


@dataclass(frozen=True)
class CaseworkerRow:
    staff_id: str
    assigned: int
    done: int
    median_done_hours: float | None


@dataclass(frozen=True)
class Report:
    span: Span
    received: int
    by_class: dict[str, int]
    archived: int
    overdue: int
    median_assign_hours: float | None
    p90_assign_hours: float | None
    median_done_hours: float | None
    p90_done_hours: float | None
    caseworkers: list[CaseworkerRow] = field(default_factory=list)


def build_report(cases: Sequence[CaseView], span: Span, now: datetime) -> Report:
    """The report of `cases` (one department's) received within `span`."""
    chosen = [c for c in cases if span.holds(c.received_at)]
    to_assign = [_hours(c.received_at, at) for c in chosen if (at := assigned_at(c)) is not None]
    to_done = [_hours(c.received_at, c.completed_at) for c in chosen if c.completed_at is not None]
    by_class = {mail_class.value: 0 for mail_class in MailClass}
    for case in chosen:
        if case.mail_class is not None:
            by_class[case.mail_class.value] += 1
    people = sorted({c.assignee for c in chosen if c.assignee is not None})
    rows = []
    for person in people:
        theirs = [c for c in chosen if c.assignee == person]
        done = [_hours(c.received_at, c.completed_at) for c in theirs if c.completed_at]
        rows.append(CaseworkerRow(person, len(theirs), len(done), percentile(done, 0.5)))
    return Report(
        span=span,
        received=len(chosen),
        by_class=by_class,
        archived=sum(1 for c in chosen if c.registry_number or c.journalpost_id),
        overdue=sum(1 for c in chosen if is_overdue(c, now)),
        median_assign_hours=percentile(to_assign, 0.5),
        p90_assign_hours=percentile(to_assign, 0.9),
        median_done_hours=percentile(to_done, 0.5),
        p90_done_hours=percentile(to_done, 0.9),
        caseworkers=rows,
    )
