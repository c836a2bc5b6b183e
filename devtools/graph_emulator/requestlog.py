"""A log of the Graph calls the emulator answered, counted per route, mailbox and status."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

RECENT = 500


class RequestLog:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.by_route: Counter[str] = Counter()
        self.by_mailbox: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)

    def record(
        self, method: str, route: str, mailbox: str | None, status: int, prefer: str | None
    ) -> None:
        key = f"{method} {route}"
        self.total += 1
        self.by_route[key] += 1
        self.by_status[str(status)] += 1
        if mailbox is not None:
            self.by_mailbox[mailbox] += 1
        self.recent.append({"route": key, "mailbox": mailbox, "status": status, "prefer": prefer})

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "byRoute": dict(self.by_route),
            "byMailbox": dict(self.by_mailbox),
            "byStatus": dict(self.by_status),
            "recent": list(self.recent),
        }
