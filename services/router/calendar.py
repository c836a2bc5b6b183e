"""Working days and office hours in the organisation's time zone, with Norwegian public holidays.

Deadlines (`due_at`, R10) are counted the way a caseworker reads them:

- The *reception day* of a moment is its local date when that is a working day and the moment is
  before closing time; otherwise the next working day. Mail that arrives on a Saturday, on 17 May or
  after closing counts as received on the next working day.
- `add_working_days(start, n)` is closing time on the n-th working day after the reception day
  (n = 0: closing time on the reception day). One working day for mail received on Tuesday at 10:00
  is Wednesday at closing time; for mail received on Friday evening it is Tuesday at closing time.
- `add_working_hours(start, h)` counts h hours of office time (opening to closing on working days)
  from start; it measures short thresholds such as "unassigned for 4 office hours".
- `working_days_between(a, b)` is the number of working days d with local(a) < d ≤ local(b) by date.

A working day is Monday to Friday, not a Norwegian public holiday and not one of the organisation's
closed days. The `holidays` package counts every Sunday as a holiday in Norway when asked to (the
default of older releases); weekends are excluded here on their own, so its Sundays are turned off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

# A calendar with no working day in a year is a configuration error, not a reason to loop forever.
_MAX_DAYS_TO_NEXT_WORKING_DAY = 366


@cache
def norwegian_public_holidays(year: int) -> frozenset[date]:
    """Norway's public holidays (helligdagar and 1 and 17 May) of one year, Sundays not counted."""
    return frozenset(holidays.country_holidays("NO", years=year, include_sundays=False))


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("working-time arithmetic needs a time-zone-aware datetime")


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and office hours of one organisation."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Oslo"))
    opens: time = time(8, 0)
    closes: time = time(16, 0)
    closed_month_days: frozenset[tuple[int, int]] = frozenset()

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError("office hours must open before they close")

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in norwegian_public_holidays(day.year)
            and (day.month, day.day) not in self.closed_month_days
        )

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        candidate = day
        for _ in range(_MAX_DAYS_TO_NEXT_WORKING_DAY):
            candidate += timedelta(days=1)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within a year after {day} (check closed_days)")

    def reception_day(self, moment: datetime) -> date:
        """The working day a moment counts as: its own, or the next when outside office days."""
        _require_aware(moment)
        local = moment.astimezone(self.timezone)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.closes:
            return day
        return self.next_working_day(day)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Closing time (in UTC) on the `days`-th working day after the reception day of `start`."""
        if days < 0:
            raise ValueError("a deadline cannot lie before the mail arrived")
        day = self.reception_day(start)
        for _ in range(days):
            day = self.next_working_day(day)
        return self._at(day, self.closes)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment (in UTC) after `hours` of office time have passed since `start`."""
        if hours < 0:
            raise ValueError("working hours cannot be negative")
        _require_aware(start)
        remaining = timedelta(hours=hours)
        day = self.reception_day(start)
        cursor = max(start.astimezone(UTC), self._at(day, self.opens))
        while True:
            # Office hours never span a daylight-saving switch (those happen at night), so the
            # UTC difference between opening and closing is the office time of the day.
            available = self._at(day, self.closes) - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
            day = self.next_working_day(day)
            cursor = self._at(day, self.opens)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after the local date of `start` up to and including that of `end`."""
        _require_aware(start)
        _require_aware(end)
        first = start.astimezone(self.timezone).date()
        last = end.astimezone(self.timezone).date()
        count = 0
        day = first + timedelta(days=1)
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.timezone).astimezone(UTC)
