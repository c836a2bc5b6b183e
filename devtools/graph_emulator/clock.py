"""The emulator's clock: wall time plus an offset tests can advance (subscription expiry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        return self.now()


def graph_datetime(value: datetime) -> str:
    """Graph's UTC timestamp format, e.g. 2026-09-20T11:00:00Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_graph_datetime(text: str) -> datetime:
    """Parse an ISO 8601 timestamp as Graph accepts it (7 fractional digits, Z); naive means UTC.

    Raises ValueError on text that is not a timestamp.
    """
    cleaned = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    main, dot, rest = cleaned.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        cleaned = f"{main}.{digits[:6]}{zone}"
    value = datetime.fromisoformat(cleaned)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
