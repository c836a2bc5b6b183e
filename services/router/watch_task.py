"""The periodic watch (R10): overdue and unassigned cases become alerts to their supervisors.

Each tick publishes the alerts `watch.due_alerts` finds, then marks every listed case so that it
is not alerted again for the same kind. Publishing comes first: a crash in between repeats an alert
with the same id, which JetStream drops, instead of losing it. The tick also retries the Outlook
write-back of open cases whose earlier attempt found Graph busy, splits the single workboard of
earlier versions once no router of theirs writes it any longer (a rolling upgrade), and records
who of each department is away (`away.<department>`, when it changed) for the overview's load
table. Each alert, each case's mark, each write-back and each department's record of who is away
is one item (`services/common/isolation.py`): one that fails is logged, alerted once and skipped,
and the tick goes on with the rest.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

import structlog

from schemas.events import Alert
from services.common.away import AwayCheck
from services.common.clock import Clock
from services.common.isolation import Isolation
from services.common.presence import Presence
from services.common.publisher import EventPublisher
from services.router.facts import AlertedFact
from services.router.flow import CaseFlow
from services.router.watch import due_alerts

log = structlog.get_logger(__name__)


class Watch:
    def __init__(
        self, flow: CaseFlow, publisher: EventPublisher, clock: Clock, replies: AwayCheck
    ) -> None:
        self._flow = flow
        self._publisher = publisher
        self._clock = clock
        self._replies = replies
        self._away_recorded: dict[str, list[str]] = {}
        org = flow.ctx.org
        self._isolation = Isolation("router watch", org.common_department, publisher.publish, clock)

    async def tick(self) -> list[Alert]:
        """One look at the open cases now; returns the alerts published."""
        now = self._clock()
        await self._flow.split_legacy_workboard()
        records = await self._flow.open_records()
        published: list[Alert] = []
        for alert in due_alerts(records, now, self._flow.ctx):
            publish = partial(self._publisher.publish, alert)
            department = alert.department
            if not await self._isolation.run(alert.event_id, publish, department=department):
                continue  # not marked either: the next tick publishes it again
            published.append(alert)
            alerted = AlertedFact(alert.event_id, alert.kind)
            for case_id in alert.case_ids:
                mark = partial(self._flow.apply, case_id, alerted, now)
                await self._isolation.run(case_id, mark, department=department)
        for record in records:
            write_back = partial(self._flow.outlook.write_back, record)
            await self._isolation.run(
                f"write-back {record.case_id}", write_back, department=record.department
            )
        for department in self._flow.ctx.org.departments:
            record_away = partial(self._record_away, department, now)
            await self._isolation.run(f"away {department}", record_away, department=department)
        return published

    async def _record_away(self, department: str, now: datetime) -> None:
        found = self._flow.ctx.org.departments[department]
        away = sorted(await self._replies.away({*found.caseworkers, *found.supervisors}))
        if self._away_recorded.get(department) != away:
            await self._flow.store.save_presence(
                Presence(department=department, away=away, checked_at=now)
            )
            self._away_recorded[department] = away

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
