"""The archival mails a websak replica is still filing (`metrics.ARCHIVE_OLDEST_PENDING_SECONDS`).

A mail is pending from its receipt's start until its journalpost is complete or the archive
refused it. While WebSak is down its `routed` event is retried, possibly by another replica: a
mail this replica has not heard of for `forget_after` (longer than the longest retry delay plus
the ack wait) is left to whichever replica has it now, so a replica never reports a mail another
one finished long ago.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class PendingArchive:
    def __init__(self, forget_after: timedelta) -> None:
        self._forget_after = forget_after
        # case id -> (the receipt's start, when this replica last tried it)
        self._cases: dict[str, tuple[datetime, datetime]] = {}

    def trying(self, case_id: str, started_at: datetime, now: datetime) -> None:
        self._cases[case_id] = (started_at, now)

    def finished(self, case_id: str) -> None:
        self._cases.pop(case_id, None)

    def oldest_seconds(self, now: datetime) -> float:
        """How long the oldest mail still pending here has waited (0 when none is)."""
        for case_id, (_, tried) in list(self._cases.items()):
            if now - tried > self._forget_after:
                del self._cases[case_id]
        if not self._cases:
            return 0.0
        oldest = min(started for started, _ in self._cases.values())
        return max(0.0, (now - oldest).total_seconds())
