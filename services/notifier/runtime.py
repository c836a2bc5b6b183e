"""The notifier at work: its parts, built once connected, and what each event makes it do.

- `routed` → the assignee's notice (R11), and the digest's view of the case;
- `completed`, `archived` → the digest's view;
- alerts → waiting in KV, then one grouped message per (department, kind) and window (R10), to the
  supervisors and, for the kinds it takes, to operations (issue 17);
- the starts every service records → one `service_restarting` alert per instance and window;
- the background loop sends due alert groups (reading them only when something may be due:
  `pendingcheck.py`) and, at the configured hour, the daily digests;
  one group or one department's digest that fails is logged, alerted once and skipped, and the
  rest goes out (`services/common/isolation.py`); what failed stays in KV for the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import httpx
import structlog
from nats.js.kv import KeyValue

from schemas.events import Alert, MailArchived, MailCompleted, MailRouted
from schemas.vocab import AlertKind, Channel
from services.common.away import AwayCheck
from services.common.clock import Clock
from services.common.errors import TRANSIENT_ERRORS, TransientError
from services.common.graph import GraphRefused, graph_client_for
from services.common.httpspans import instrument
from services.common.isolation import Isolation
from services.common.orgconfig import Organisation, StaffMember
from services.common.publisher import EventPublisher
from services.common.seal import signing_keys
from services.common.settings import Settings
from services.common.starts import read_starts
from services.notifier.channels import (
    HTTP_TIMEOUT,
    EmailSender,
    HttpSender,
    Sender,
    make_webhook_sender,
    teams_body,
)
from services.notifier.compose import (
    alert_department,
    alert_notices,
    assigned_notice,
    digest_notices,
    operations_notice,
)
from services.notifier.config import NotifierConfig, NotifierSecrets
from services.notifier.delivery import Deliverer
from services.notifier.digest import (
    apply_archived,
    apply_completed,
    apply_routed,
    digest_due,
    is_stale,
    summarise,
)
from services.notifier.kvstore import AlertGroup, CaseViews, PendingAlerts, due_groups
from services.notifier.ledger import NoticeLedger, process_owner
from services.notifier.pendingcheck import PendingCheck
from services.notifier.restarts import restarting, restarting_alert

log = structlog.get_logger(__name__)

# What reading automatic replies may raise when Graph does not tell.
AWAY_UNKNOWN: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, GraphRefused)


async def supervisors_to_tell(
    away: AwayCheck, org: Organisation, department: str
) -> list[StaffMember]:
    """Who hears about `department` now: its supervisors, or the deputies standing in (R10)."""
    try:
        on_duty = await away.supervisors_on_duty(department)
    except AWAY_UNKNOWN as error:
        # Not knowing who is away is no reason to withhold an alert: tell the supervisors.
        log.warning("automatic replies unknown", department=department, error=repr(error))
        on_duty = list(org.departments[department].supervisors)
    return [org.staff_member(staff_id) for staff_id in on_duty]


@dataclass
class Parts:
    deliverer: Deliverer
    publisher: EventPublisher
    starts: KeyValue
    away: AwayCheck
    pending: PendingAlerts
    views: CaseViews
    http: httpx.AsyncClient
    isolation: Isolation


@dataclass
class Notifier:
    org: Organisation
    config: NotifierConfig
    secrets: NotifierSecrets
    clock: Clock
    _parts: Parts | None = None
    _background: asyncio.Task[None] | None = None
    _digest_sent: dict[str, str] = field(default_factory=dict)
    # Restart alerts already raised by this process (a new one re-raises them: the events
    # stream and the `told` keys drop the repeat).
    _restarts_raised: set[str] = field(default_factory=set)
    _restarts_checked: float = float("-inf")
    _pending_check: PendingCheck = field(init=False)

    def __post_init__(self) -> None:
        self._pending_check = PendingCheck(timedelta(seconds=self.config.storm_window_seconds))

    @property
    def parts(self) -> Parts:
        if self._parts is None:
            raise RuntimeError("the notifier has not started")
        return self._parts

    # --- lifecycle ------------------------------------------------------------------------

    async def start(
        self, settings: Settings, kv: KeyValue, starts: KeyValue, publisher: EventPublisher
    ) -> None:
        # Reading mailbox settings may be retried by the SDK; sendMail must not be (graph.py).
        reader = graph_client_for(settings, retries=True)
        sender = graph_client_for(settings, retries=False)
        http = instrument(httpx.AsyncClient(timeout=HTTP_TIMEOUT))
        webhook_secret = self.secrets.webhook_secret
        senders: dict[Channel, Sender] = {
            Channel.EMAIL: EmailSender(sender, self.org, signing_keys(settings), self.clock),
            Channel.TEAMS: HttpSender(
                Channel.TEAMS,
                http,
                lambda notice: self.secrets.teams_url_for(
                    notice.department, operations=notice.to_operations
                ),
                teams_body,
            ),
            Channel.WEBHOOK: make_webhook_sender(
                http,
                self.secrets.webhook_url,
                self.secrets.operations_webhook_url,
                webhook_secret.get_secret_value() if webhook_secret else None,
                self.clock,
            ),
        }
        ledger = NoticeLedger(kv, process_owner(), self.config.claim_lease_seconds, self.clock)
        self._parts = Parts(
            deliverer=Deliverer(ledger, senders, publisher, self.config, self.clock),
            publisher=publisher,
            starts=starts,
            away=AwayCheck(reader, self.org, self.clock, self.config.away_cache_seconds),
            pending=PendingAlerts(kv),
            views=CaseViews(kv),
            http=http,
            isolation=Isolation("notifier", self.org.common_department, publisher.publish),
        )
        self._background = asyncio.create_task(self._run_background())

    async def stop(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
        if self._parts is not None:
            await self._parts.http.aclose()

    async def _run_background(self) -> None:
        while True:
            try:
                await self.raise_restarting()
                if self._pending_check.due(self.clock()):
                    await self.flush_alerts()
                await self.send_due_digests()
            except TransientError as error:
                log.warning("notifier background work will retry", reason=str(error)[:200])
            except Exception:
                # The loop must outlive any one failure: what failed is still in KV for next time.
                log.exception("notifier background work failed")
            await asyncio.sleep(self.config.flush_tick_seconds)

    # --- events ---------------------------------------------------------------------------

    async def on_routed(self, event: MailRouted) -> None:
        views = self.parts.views
        if event.previous_department and event.previous_department != event.department:
            await views.remove(event.previous_department, event.case_id)
        await views.update(event.department, event.case_id, lambda v: apply_routed(v, event))
        notice = assigned_notice(event, self.org, self.config)
        if notice is not None:
            await self.parts.deliverer.deliver(notice)

    async def on_completed(self, event: MailCompleted) -> None:
        await self.parts.views.update(
            event.department, event.case_id, lambda v: apply_completed(v, event)
        )

    async def on_archived(self, event: MailArchived) -> None:
        await self.parts.views.update(
            event.department, event.case_id, lambda v: apply_archived(v, event)
        )

    async def on_alert(self, alert: Alert) -> None:
        if not self._wanted(alert.kind, alert_department(alert.department, self.org)):
            return
        await self.parts.pending.add(alert, self.clock())
        self._pending_check.changed()

    def _wanted(self, kind: AlertKind, department: str) -> bool:
        """Whether the department's supervisors or operations take alerts of `kind`."""
        operations = self.config.operations
        return kind in self.config.for_department(department).alert_kinds or (
            operations is not None and kind in operations.alert_kinds
        )

    # --- background work ------------------------------------------------------------------

    async def flush_alerts(self) -> int:
        """Send every alert group whose window has closed; returns how many groups went out."""
        parts = self.parts
        window = timedelta(seconds=self.config.storm_window_seconds)
        begun = self._pending_check.begin()
        pending = await parts.pending.all()
        now = self.clock()
        groups = due_groups(pending, now, window)
        self._pending_check.read(begun, pending, bool(groups), now)
        sent = 0
        for group in groups:
            item = f"alerts {group.department}/{group.kind.value}/{group.members[0].alert.event_id}"
            sent += await parts.isolation.run(
                item,
                partial(self._flush, group),
                department=alert_department(group.department, self.org),
                # A group of skipped alerts that fails raises no further one: no loops.
                alert=group.kind is not AlertKind.SKIPPED,
            )
        return sent

    async def _flush(self, group: AlertGroup) -> None:
        parts = self.parts
        department = alert_department(group.department, self.org)
        notices = []
        if group.kind in self.config.for_department(department).alert_kinds:
            recipients = await supervisors_to_tell(parts.away, self.org, department)
            notices = alert_notices(group, recipients, self.org, self.config)
        to_operations = operations_notice(group, self.org, self.config)
        if to_operations is not None:
            notices.append(to_operations)
        for notice in notices:
            await parts.deliverer.deliver(notice)
        await parts.pending.remove(group)

    async def raise_restarting(self) -> None:
        """Raise one service_restarting alert per instance and window (it reaches operations
        through the alert consumer, like any other alert)."""
        operations = self.config.operations
        now = time.monotonic()
        if operations is None or now - self._restarts_checked < operations.restart_check_seconds:
            return
        self._restarts_checked = now
        window = timedelta(minutes=operations.restart_window_minutes)
        starts = await read_starts(self.parts.starts)
        for found in restarting(starts, operations.restart_limit, window):
            alert = restarting_alert(found, self.org.common_department, window)
            if alert.event_id not in self._restarts_raised:
                log.warning("service restarting", service=found.service, instance=found.instance)
                await self.parts.publisher.publish(alert)
                self._restarts_raised.add(alert.event_id)

    async def send_due_digests(self) -> None:
        now = self.clock()
        day = digest_due(now, self.org.timezone, self.config.digest_at)
        if day is None:
            return
        for department in self.org.departments:
            if self._digest_sent.get(department) != day:
                await self.parts.isolation.run(
                    f"digest {department}/{day}",
                    partial(self.send_digest, department, day, now),
                    department=department,
                )

    async def send_digest(self, department: str, day: str, now: datetime) -> None:
        """The digest of `day` for one department's supervisors, now (also the tests' way in)."""
        parts = self.parts
        views = await parts.views.of_department(department)
        digest = summarise(department, day, list(views.values()), now)
        recipients = await supervisors_to_tell(parts.away, self.org, department)
        for notice in digest_notices(digest, recipients, self.org, self.config):
            await parts.deliverer.deliver(notice)
        for case_id, view in views.items():
            if is_stale(view, now):
                await parts.views.remove(department, case_id)
        self._digest_sent[department] = day
