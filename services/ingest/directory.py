"""The webhook's view of our subscriptions: read from KV, refreshed when an unknown id arrives.

Refreshes are spaced out, so a flood of forged notifications with random subscription ids costs
at most a few KV reads a second.
"""

from __future__ import annotations

import time
from datetime import datetime

from services.ingest.notifications import KnownSubscription
from services.ingest.state import IngestState, SubscriptionRecord

MIN_REFRESH_SECONDS = 0.2


class SubscriptionDirectory:
    def __init__(self, state: IngestState) -> None:
        self._state = state
        self._by_department: dict[str, SubscriptionRecord] = {}
        self._refreshed_at = float("-inf")

    async def refresh(self) -> None:
        self._by_department = dict((await self._state.subscriptions()).subscriptions)
        self._refreshed_at = time.monotonic()

    def remember(self, department: str, record: SubscriptionRecord) -> None:
        """The upkeep's own change, visible at once (another replica learns it from KV)."""
        self._by_department[department] = record

    def _index(self) -> dict[str, KnownSubscription]:
        return {r.id: r.known(d) for d, r in self._by_department.items()}

    async def known(self, wanted: set[str]) -> dict[str, KnownSubscription]:
        index = self._index()
        stale = time.monotonic() - self._refreshed_at >= MIN_REFRESH_SECONDS
        if not wanted <= set(index) and stale:
            await self.refresh()
            index = self._index()
        return index

    def unwatched(self, departments: list[str], now: datetime) -> list[str]:
        """Departments without a live subscription (for readiness)."""
        return [
            d
            for d in departments
            if d not in self._by_department or self._by_department[d].expires <= now
        ]
