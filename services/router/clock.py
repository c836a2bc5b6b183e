"""The router's clock, injected so that deadlines and the watch can be tested across weekends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current moment, time-zone-aware."""


def system_clock() -> datetime:
    return datetime.now(UTC)
