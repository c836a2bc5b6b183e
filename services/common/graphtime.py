"""Graph's `dateTimeTimeZone`: a wall-clock time (up to seven fractional digits) and a zone name.

Exchange names zones the Windows way ("W. Europe Standard Time") as often as the IANA way
("Europe/Oslo"); both are read. When the name is missing or not one we know, the organisation's
own zone is assumed: a Norwegian municipality's staff schedule their absences in Norwegian time,
and reading their wall-clock times as UTC would put every absence one or two hours off.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone

# Windows zone names → IANA (CLDR windowsZones, territory 001 unless Norway has its own entry).
WINDOWS_ZONES: dict[str, str] = {
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "W. Europe Standard Time": "Europe/Oslo",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Romance Standard Time": "Europe/Paris",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "FLE Standard Time": "Europe/Kiev",
    "E. Europe Standard Time": "Europe/Chisinau",
    "GTB Standard Time": "Europe/Bucharest",
    "Russian Standard Time": "Europe/Moscow",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
}


def zone_named(name: str | None, fallback: tzinfo) -> tzinfo:
    """The zone a Windows or IANA name stands for; `fallback` when missing or unknown."""
    if not name or not name.strip():
        return fallback
    name = name.strip()
    try:
        return ZoneInfo(WINDOWS_ZONES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def read_graph_time(value: Any, fallback: tzinfo) -> datetime | None:
    """A `dateTimeTimeZone` as an aware datetime; None when it holds no readable time.

    An offset written into the time itself wins over the zone name.
    """
    text = getattr(value, "date_time", None)
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(_without_extra_digits(text.strip()))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone_named(getattr(value, "time_zone", None), fallback))


def _without_extra_digits(text: str) -> str:
    """Drops fractional digits beyond the sixth, keeping any offset that follows them."""
    head, dot, tail = text.partition(".")
    if not dot:
        return text
    digits = len(tail) - len(tail.lstrip("0123456789"))
    return f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"


def graph_time(moment: datetime) -> DateTimeTimeZone:
    """An aware datetime as a `dateTimeTimeZone` in UTC, the form our write-backs use."""
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return DateTimeTimeZone(date_time=text, time_zone="UTC")
