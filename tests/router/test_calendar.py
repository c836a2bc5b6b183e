"""Working days in Europe/Oslo with Norwegian public holidays (R10 deadlines)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.router.calendar import WorkingCalendar, norwegian_public_holidays

from .builders import OSLO, oslo

CAL = WorkingCalendar(
    timezone=ZoneInfo("Europe/Oslo"),
    opens=time(8),
    closes=time(16),
    closed_month_days=frozenset({(12, 24)}),
)

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(OSLO)
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 4, 1), True),  # Wednesday before Easter
        (date(2026, 4, 2), False),  # Skjærtorsdag
        (date(2026, 4, 3), False),  # Langfredag
        (date(2026, 4, 6), False),  # Andre påskedag
        (date(2026, 4, 7), True),
        (date(2027, 5, 17), False),  # Grunnlovsdag on a Monday
        (date(2026, 5, 14), False),  # Kristi himmelfartsdag
        (date(2026, 5, 25), False),  # Andre pinsedag
        (date(2026, 5, 1), False),  # Arbeidernes dag
        (date(2026, 1, 3), False),  # an ordinary Saturday
        (date(2026, 1, 4), False),  # an ordinary Sunday
        (date(2026, 1, 5), True),
        (date(2026, 12, 24), False),  # a closed day of the organisation, not a public holiday
    ],
)
def test_working_days(day: date, working: bool) -> None:  # R10
    assert CAL.is_working_day(day) is working


def test_holidays_exclude_ordinary_sundays() -> None:
    # Some releases of `holidays` list every Sunday in Norway; the calendar must not depend on it.
    holidays_2026 = norwegian_public_holidays(2026)
    assert date(2026, 1, 4) not in holidays_2026
    assert date(2026, 4, 5) in holidays_2026  # første påskedag is a holiday of its own
    assert len(holidays_2026) == 12


def test_one_working_day_across_easter() -> None:  # R10
    due = CAL.add_working_days(oslo(2026, 4, 1, 10), 1)
    assert due == oslo(2026, 4, 7, 16).astimezone(UTC)


def test_after_closing_counts_from_next_working_day() -> None:  # R10
    # Friday 14 May 2027 after closing; Monday 17 May is Grunnlovsdag.
    assert CAL.reception_day(oslo(2027, 5, 14, 17, 30)) == date(2027, 5, 18)
    assert CAL.add_working_days(oslo(2027, 5, 14, 17, 30), 1) == oslo(2027, 5, 19, 16)
    assert CAL.add_working_days(oslo(2027, 5, 14, 15, 59), 0) == oslo(2027, 5, 14, 16)


def test_working_hours_across_a_weekend() -> None:
    # Friday 14:00 + 4 office hours: two on Friday, two on Monday.
    assert CAL.add_working_hours(oslo(2026, 1, 9, 14), 4) == oslo(2026, 1, 12, 10)
    # Saturday counts from Monday's opening.
    assert CAL.add_working_hours(oslo(2026, 1, 10, 12), 1) == oslo(2026, 1, 12, 9)


def test_working_hours_across_daylight_saving_switch() -> None:
    # Summer time starts on Sunday 29 March 2026; office time is still eight hours a day.
    start = oslo(2026, 3, 27, 12)
    assert CAL.add_working_hours(start, 8) == oslo(2026, 3, 30, 12)


def test_working_days_between() -> None:
    assert CAL.working_days_between(oslo(2026, 4, 1, 9), oslo(2026, 4, 7, 9)) == 1
    assert CAL.working_days_between(oslo(2026, 4, 7, 9), oslo(2026, 4, 1, 9)) == 0


def test_naive_and_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="time-zone-aware"):
        CAL.reception_day(datetime(2026, 1, 5, 9))
    with pytest.raises(ValueError, match="before the mail arrived"):
        CAL.add_working_days(oslo(2026, 1, 5, 9), -1)
    with pytest.raises(ValueError, match="open before"):
        WorkingCalendar(opens=time(16), closes=time(8))


@given(moments, st.integers(0, 15))
def test_due_is_closing_time_on_a_working_day(start: datetime, days: int) -> None:  # R10
    due = CAL.add_working_days(start, days).astimezone(OSLO)
    assert CAL.is_working_day(due.date())
    assert due.time() == time(16)
    assert due > start


@given(moments, st.integers(0, 15), st.integers(0, 15))
def test_add_working_days_is_monotone(start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert CAL.add_working_days(start, low) <= CAL.add_working_days(start, high)


@given(moments, moments, st.integers(0, 10))
def test_later_start_never_gives_earlier_due(a: datetime, b: datetime, days: int) -> None:
    early, late = sorted((a, b))
    assert CAL.add_working_days(early, days) <= CAL.add_working_days(late, days)


@given(moments, st.integers(0, 15))
def test_between_counts_the_days_added(start: datetime, days: int) -> None:
    within_hours = CAL.is_working_day(start.date()) and start.time() < time(16)
    due = CAL.add_working_days(start, days)
    expected = days if within_hours else days + 1
    assert CAL.working_days_between(start, due) == expected


@given(moments, st.floats(0, 200), st.floats(0, 200))
def test_working_hours_are_monotone(start: datetime, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert CAL.add_working_hours(start, low) <= CAL.add_working_hours(start, high)
    assert CAL.add_working_hours(start, high) - CAL.add_working_hours(start, low) >= timedelta(
        hours=high - low
    ) - timedelta(microseconds=1)
