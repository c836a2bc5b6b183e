"""The periodic watch (R10): overdue and unassigned cases become alerts to their supervisors.

Each tick publishes the alerts `watch.due_alerts` finds, then marks every listed case so that it
is not alerted again for the same kind. Publishing comes first: a crash in between repeats an alert
with the same id, which JetStream drops, instead of losing it. The tick also retries the Outlook
write-back of open cases whose earlier attempt found Graph busy.
"""

from __future__ import annotations

import asyncio

import structlog

from schemas.events import Alert
from services.common.clock import Clock
from services.common.errors import TransientError
from services.common.publisher import EventPublisher
from services.router.facts import AlertedFact
from services.router.flow import CaseFlow
from services.router.watch import due_alerts

log = structlog.get_logger(__name__)


class Watch:
    def __init__(self, flow: CaseFlow, publisher: EventPublisher, clock: Clock) -> None:
        self._flow = flow
        self._publisher = publisher
        self._clock = clock

    async def tick(self) -> list[Alert]:
        """One look at the open cases now; returns the alerts published."""
        now = self._clock()
        records = await self._flow.open_records()
        alerts = due_alerts(records, now, self._flow.ctx)
        for alert in alerts:
            await self._publisher.publish(alert)
            for case_id in alert.case_ids:
                await self._flow.apply(case_id, AlertedFact(alert.event_id, alert.kind), now)
        for record in records:
            try:
                await self._flow.outlook.write_back(record)
            except TransientError as error:
                log.warning("write-back still pending", case_id=record.case_id, reason=str(error))
        return alerts

    async def run(self, interval_seconds: float) -> None:
        """Tick every `interval_seconds` until cancelled; a failed tick is logged, never fatal."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                alerts = await self.tick()
                if alerts:
                    log.info("watch alerted", alerts=len(alerts))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watch tick failed")
