"""A service that keeps restarting (issue 17): pure detection over the starts services record.

Each start is (service, instance, time); an instance (a pod) that started more than `limit` times
within `window` is restarting. The alert's window is the one that begins at the first start of the
run of starts that broke the limit, so every replica and every replay of the same starts derives the
same window and the same alert id: one alert per instance and window, never one per start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Start:
    service: str
    instance: str
    at: datetime


@dataclass(frozen=True)
class Restarting:
    """`instance` of `service` started `count` times from `since` to `last`."""

    service: str
    instance: str
    since: datetime
    last: datetime
    count: int


def restarting(starts: Iterable[Start], limit: int, window: timedelta) -> list[Restarting]:
    """Each instance whose starts broke the limit, once per window (the window opens at the first
    start counted, and a later breach counts from the first start after that window)."""
    by_instance: dict[tuple[str, str], list[datetime]] = {}
    for start in starts:
        by_instance.setdefault((start.service, start.instance), []).append(start.at)
    found: list[Restarting] = []
    for (service, instance), times in sorted(by_instance.items()):
        times.sort()
        first = 0
        while first < len(times):
            within = [at for at in times[first:] if at - times[first] <= window]
            if len(within) > limit:
                found.append(Restarting(service, instance, times[first], within[-1], len(within)))
                first += len(within)
            else:
                first += 1
    return found


def forget_before(starts: list[Start], now: datetime, window: timedelta) -> list[Start]:
    """The starts that may still count: those within one window of now."""
    return [start for start in starts if now - start.at <= window]
