"""One bad item never stops a loop: it is logged, alerted once, and skipped; the rest goes on.

Every periodic loop (the personal watch, ingest's upkeep, the notifier's alert groups and
digests, the router's watch) runs each of its items through `Isolation.run`:
- a transient failure (Graph or NATS away, throttled) is logged as a warning and left to the next
  round: the dependency, not the item, is at fault, so it raises no alert;
- any other failure (a bug, an item this code cannot handle) is logged and raised as a `skipped`
  alert once per (item, error type): the next tick that meets it again logs it, and alerts
  nothing. The alert's event id is derived from the same key, so another replica or a restart
  within JetStream's duplicate window does not repeat it either;
- only the error's type is logged or alerted: its message may quote a subject, an address or an
  identity number from the item;
- errors the caller names in `propagate` pass through, for the loop around to handle (a mail whose
  Graph read was throttled must not be skipped for good, its round is retried).
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Awaitable, Callable

import structlog

from schemas.events import Alert, utc_now
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, Severity
from services.common.clock import Clock
from services.common.errors import TRANSIENT_ERRORS

log = structlog.get_logger(__name__)

PublishAlert = Callable[[Alert], Awaitable[object]]
# How many (item, error) keys a loop remembers as alerted: beyond it the oldest are forgotten, and
# the event id still keeps a repeat within the duplicate window off the stream.
REMEMBERED_ALERTS = 4096


def item_key(*parts: str) -> str:
    """A key for an item whose natural name may not be logged (a message id in a personal
    mailbox): stable, short, and says nothing about the item."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class Isolation:
    """The items of one loop (`loop` names it in logs and alerts)."""

    def __init__(
        self,
        loop: str,
        department: str,
        publish: PublishAlert | None,
        clock: Clock = utc_now,
    ) -> None:
        self._loop = loop
        self._department = department
        self._publish = publish
        self._clock = clock
        self._alerted: dict[str, None] = {}  # insertion-ordered: the oldest is forgotten first

    async def run(
        self,
        item: str,
        work: Callable[[], Awaitable[object]],
        *,
        department: str | None = None,
        alert: bool = True,
        propagate: tuple[type[BaseException], ...] = (),
    ) -> bool:
        """Do `work` for `item`; False when it failed and was skipped.

        `alert=False` only logs: for items that are themselves alerts, so a failing alert never
        begets another.
        """
        try:
            await work()
        except propagate:
            raise
        except TRANSIENT_ERRORS as error:
            log.warning(
                "item left for the next round", loop=self._loop, item=item, error=_kind(error)
            )
            return False
        except Exception as error:
            await self._skipped(item, error, department or self._department, alert)
            return False
        return True

    async def _skipped(self, item: str, error: Exception, department: str, alert: bool) -> None:
        key = f"{item}\n{_kind(error)}"
        first = key not in self._alerted
        log.error(
            "item skipped",
            loop=self._loop,
            item=item,
            error=_kind(error),
            where=_where(error),
            repeated=not first,
        )
        if first and alert and self._publish is not None:
            await self._alert(item, key, error, department, self._publish)
        else:
            self._remember(key)

    async def _alert(
        self, item: str, key: str, error: Exception, department: str, publish: PublishAlert
    ) -> None:
        alert_event = Alert(
            event_id=make_event_id("alert", "", AlertKind.SKIPPED.value, self._loop, key),
            case_id=None,
            occurred_at=self._clock(),
            department=department,
            kind=AlertKind.SKIPPED,
            severity=Severity.CRITICAL,
            summary=f"Eit element i {self._loop} kunne ikkje handsamast og vart hoppa over",
            reason=f"{self._loop}: {item}: {_kind(error)}",
        )
        try:
            await publish(alert_event)
        except Exception as failure:  # NATS away: the next tick that meets the item tries again
            log.warning("skipped item not alerted", loop=self._loop, error=_kind(failure))
            return
        self._remember(key)

    def _remember(self, key: str) -> None:
        self._alerted[key] = None
        if len(self._alerted) > REMEMBERED_ALERTS:
            del self._alerted[next(iter(self._alerted))]


def _kind(error: BaseException) -> str:
    return type(error).__name__


def _where(error: BaseException) -> str:
    """Where the error was raised: the traceback's last frame, without the error's message."""
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno} {frames[-1].name}" if frames else ""
