"""When the notifier's background loop reads the waiting alerts again (issue #20).

Each read opens a KV watch: a consumer made and removed on the server, a few milliseconds of CPU
on both sides, which every tick of an idle notifier used to spend. The loop now reads only when
what it knows calls for it:

- an alert this process took in since its last read (counted, so one taken in during a read is
  read again next tick);
- a group's window closes (the earliest alert known plus the window), or a group was due at the
  last read: the next tick reads again, so one that failed is retried every tick as before;
- at least every `RESCAN` all the same: alerts another replica took in and did not send before
  it stopped are not left waiting for that replica's return. A process reads at its start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifier.kvstore import PendingAlert

RESCAN = timedelta(seconds=60)


@dataclass
class PendingCheck:
    window: timedelta
    _changes: int = 0
    _read_changes: int | None = None  # `_changes` when the last read began; None: never read
    _next_read: datetime | None = None

    def changed(self) -> None:
        """This process took in an alert: read before the next flush."""
        self._changes += 1

    def begin(self) -> int:
        """Before a read: what it will have seen (pass to `read`)."""
        return self._changes

    def read(self, begun: int, pending: list[PendingAlert], any_due: bool, now: datetime) -> None:
        """A read that began at `begun` found `pending`, of which a group was due if `any_due`."""
        self._read_changes = begun
        if any_due:
            self._next_read = now
            return
        closes = [min(p.arrived_at for p in pending) + self.window] if pending else []
        self._next_read = min([now + RESCAN, *closes])

    def due(self, now: datetime) -> bool:
        return (
            self._read_changes != self._changes or self._next_read is None or now >= self._next_read
        )
