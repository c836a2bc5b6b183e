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

from schemas.events import Alert
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, Severity
from services.common.starts import Start


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


def restarting_alert(found: Restarting, department: str, window: timedelta) -> Alert:
    """The one alert about `found`: its id is the instance's and the window's."""
    minutes = round(window.total_seconds() / 60)
    return Alert(
        event_id=make_event_id(
            "alert",
            "",
            AlertKind.SERVICE_RESTARTING.value,
            found.service,
            found.instance,
            found.since.isoformat(),
        ),
        case_id=None,
        occurred_at=found.last,
        department=department,
        kind=AlertKind.SERVICE_RESTARTING,
        severity=Severity.CRITICAL,
        summary=f"{found.service} ({found.instance}) starta {found.count} gonger "
        f"på {minutes} minutt",
    )
