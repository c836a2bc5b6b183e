"""The one notion of "now" every service uses, injected so tests can stand at any moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current moment, time-zone-aware."""


def system_clock() -> datetime:
    return datetime.now(UTC)
