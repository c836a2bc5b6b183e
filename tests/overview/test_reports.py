"""Issue 19: a department's report for a week or a month, computed from case views (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from schemas.vocab import MailClass, Status
from services.overview.readmodel import CaseView, HistoryView
from services.overview.reports import Period, build_report, percentile, period_span

ZONE = "Europe/Oslo"
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def case(
    number: int,
    received: datetime,
    *,
    assigned_after: float | None = None,
    done_after: float | None = None,
    due_after: float | None = None,
    mail_class: MailClass = MailClass.OFFISIELL,
    assignee: str | None = "anders.moi",
    archived: bool = False,
) -> CaseView:
    history = [HistoryView(at=received, who="sakspost", what="received")]
    if assigned_after is not None:
        at = received + timedelta(hours=assigned_after)
        history.append(HistoryView(at=at, who="rune.bo", what="assigned", why="by hand"))
    completed = received + timedelta(hours=done_after) if done_after is not None else None
    return CaseView(
        case_id=f"case{number:04d}",
        department="teknisk",
        received_at=received,
        mail_class=mail_class,
        status=Status.FERDIG if completed else Status.TILDELT,
        assignee=assignee,
        completed_at=completed,
        due_at=received + timedelta(hours=due_after) if due_after is not None else None,
        registry_number="2026/1" if archived else None,
        history=history,
    )


def test_a_week_runs_monday_to_monday_and_a_month_is_the_calendar_month() -> None:
    week = period_span(Period.WEEK, date(2026, 12, 3), ZONE)
    assert (week.start.date(), week.end.date()) == (date(2026, 11, 30), date(2026, 12, 7))
    month = period_span(Period.MONTH, date(2026, 12, 31), ZONE)
    assert (month.start.date(), month.end.date()) == (date(2026, 12, 1), date(2027, 1, 1))
    assert str(week.start.tzinfo) == ZONE


def test_percentiles_are_nearest_rank_values_some_case_took() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.9) == 9.0
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([], 0.5) is None


def test_the_report_counts_only_the_periods_mail() -> None:
    span = period_span(Period.WEEK, MONDAY.date(), ZONE)
    now = MONDAY + timedelta(days=3)
    cases = [
        case(1, MONDAY, assigned_after=1, done_after=10, due_after=24, archived=True),
        case(2, MONDAY + timedelta(hours=1), assigned_after=3, done_after=30, due_after=24),
        case(3, MONDAY + timedelta(hours=2), due_after=24, mail_class=MailClass.ARKIVVERDIG),
        case(4, MONDAY + timedelta(hours=3), mail_class=MailClass.PRIVAT, assignee=None),
        # Received the week before: not in this report.
        case(5, MONDAY - timedelta(days=2), assigned_after=1, done_after=2),
    ]
    report = build_report(cases, span, now)
    assert report.received == 4
    assert report.by_class == {"arkivverdig": 1, "offisiell": 2, "privat": 1}
    assert report.archived == 1
    # Case 2 was Ferdig after its deadline; case 3 is still open past it.
    assert report.overdue == 2
    assert report.median_assign_hours == 1.0
    assert report.p90_assign_hours == 3.0
    assert report.median_done_hours == 10.0
    assert report.p90_done_hours == 30.0
    (row,) = report.caseworkers
    assert (row.staff_id, row.assigned, row.done, row.median_done_hours) == (
        "anders.moi",
        3,
        2,
        10.0,
    )


def test_an_empty_period_has_no_times() -> None:
    span = period_span(Period.MONTH, MONDAY.date(), ZONE)
    report = build_report([], span, MONDAY)
    assert report.received == 0
    assert report.median_done_hours is None
    assert report.caseworkers == []
