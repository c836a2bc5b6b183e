"""Subscription upkeep and delta catch-up, done by the one replica that holds the lease.

- The lease is a KV key with the holder and an expiry, taken and renewed with compare-and-set;
  when its holder dies, another replica takes it over once it has expired.
- Every watched mailbox has one subscription (the whole mailbox), created on start, renewed well
  before it expires, recreated when Graph lost it. Its clientState secret lives in KV. With an
  encryption certificate it includes resource data (a day's lifetime at most, renewed sooner),
  and one made without them, or for another certificate, is replaced.
- Delta catch-up per mailbox folder runs after every (re)creation, on `missed`, when the lease is
  taken over (what happened while nobody watched), and every delta interval: whatever the
  notifications missed becomes work for the fetcher, exactly like a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from kiota_abstractions.api_error import APIError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from schemas.events import Alert
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, Severity
from services.common.isolation import Isolation
from services.common.metrics import SUBSCRIPTION_ACTIVE, SUBSCRIPTION_EXPIRY_SECONDS
from services.common.orgconfig import Organisation
from services.ingest.config import IngestSettings
from services.ingest.directory import SubscriptionDirectory
from services.ingest.gateway import (
    CreatedSubscription,
    DeltaRestart,
    GraphGateway,
    SubscriptionGone,
    is_conflict,
    mailbox_resource,
)
from services.ingest.queue import WorkQueue
from services.ingest.resource_data import EncryptionCertificate
from services.ingest.sent import SENT_ITEMS
from services.ingest.state import LEASE_KEY, DeltaRecord, IngestState, SubscriptionRecord
from services.ingest.work import MessageWork

log = structlog.get_logger(__name__)

RETRY_SOON_SECONDS = 1.0


class Lease:
    """Who does upkeep: a KV key `{"holder", "until"}` renewed before it runs out."""

    def __init__(self, kv: KeyValue, holder: str, seconds: float) -> None:
        self._kv = kv
        self.holder = holder
        self._seconds = seconds

    def _value(self) -> bytes:
        return json.dumps({"holder": self.holder, "until": time.time() + self._seconds}).encode()

    async def hold(self) -> bool:
        """Take or renew the lease; False while another live replica holds it."""
        try:
            entry = await self._kv.get(LEASE_KEY)
        except KeyNotFoundError:
            entry = None
        try:
            if entry is None or not entry.value:
                await self._kv.create(LEASE_KEY, self._value())
                return True
            current = json.loads(entry.value)
            if (
                current.get("holder") != self.holder
                and float(current.get("until", 0)) > time.time()
            ):
                return False
            await self._kv.update(LEASE_KEY, self._value(), last=entry.revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def release(self) -> None:
        """Give the lease up at a graceful stop, so another replica need not wait it out."""
        try:
            entry = await self._kv.get(LEASE_KEY)
        except KeyNotFoundError:
            return
        if entry.value and json.loads(entry.value).get("holder") == self.holder:
            await self._kv.delete(LEASE_KEY, last=entry.revision)


@dataclass(frozen=True)
class Endpoints:
    notification_url: str
    lifecycle_url: str


class SubscriptionKeeper:
    def __init__(
        self,
        gateway: GraphGateway,
        state: IngestState,
        directory: SubscriptionDirectory,
        ingest: IngestSettings,
        endpoints: Endpoints,
        encryption: EncryptionCertificate | None = None,
    ) -> None:
        self._gateway = gateway
        self._state = state
        self._directory = directory
        self._ingest = ingest
        self._endpoints = endpoints
        # Set: subscriptions include resource data, encrypted for this certificate.
        self._encryption = encryption

    @property
    def _certificate_id(self) -> str | None:
        return self._encryption.id if self._encryption is not None else None

    def _expiry(self, resource_data: bool) -> datetime:
        """Graph keeps a subscription with resource data at most a day, one without a week."""
        ingest = self._ingest
        minutes = ingest.resource_data_minutes if resource_data else ingest.subscription_minutes
        return datetime.now(UTC) + timedelta(minutes=minutes)

    def _renew_before(self, record: SubscriptionRecord) -> timedelta:
        ingest = self._ingest
        if record.certificate_id is not None:
            return timedelta(minutes=ingest.resource_data_renew_before_minutes)
        return timedelta(minutes=ingest.renew_before_minutes)

    async def ensure(self, department: str, mailbox: str) -> bool:
        """A live subscription for the mailbox; True when it had to be created anew."""
        current = (await self._state.subscriptions()).subscriptions.get(department)
        now = datetime.now(UTC)
        if current is None or current.expires <= now or current.mailbox != mailbox:
            await self.create(department, mailbox)
            return True
        if current.certificate_id != self._certificate_id:
            # Resource data turned on (the upgrade from plain notifications), off, or their
            # certificate rotated: a live subscription's cannot be changed. Its successor is made
            # first, then it goes; delta catches up on the moment between.
            log.info("subscription replaced: resource data changed", department=department)
            await self.create(department, mailbox)
            await self._gateway.delete_subscription(current.id)
            return True
        self._directory.remember(department, current)
        if current.expires - now <= self._renew_before(current):
            return await self.renew(department, mailbox)
        return False

    async def create(self, department: str, mailbox: str) -> None:
        secret = secrets.token_urlsafe(32)
        try:
            created = await self._create(mailbox, secret)
        except APIError as error:
            if not is_conflict(error):
                raise
            # Graph still has a subscription whose secret we no longer know: replace it.
            for stale in await self._gateway.find_subscriptions(mailbox_resource(mailbox)):
                await self._gateway.delete_subscription(stale)
            created = await self._create(mailbox, secret)
        record = SubscriptionRecord(
            id=created.id,
            mailbox=mailbox,
            client_state=secret,
            expires=created.expires,
            certificate_id=self._certificate_id,
        )
        await self._state.save_subscription(department, record)
        self._directory.remember(department, record)
        log.info("subscription created", department=department, subscription_id=created.id)

    async def _create(self, mailbox: str, secret: str) -> CreatedSubscription:
        return await self._gateway.create_subscription(
            mailbox,
            self._endpoints.notification_url,
            self._endpoints.lifecycle_url,
            self._expiry(self._encryption is not None),
            secret,
            encryption=self._encryption,
        )

    async def is_current(self, department: str, subscription_id: str) -> bool:
        """Whether `subscription_id` is the mailbox's subscription now (not one replaced since)."""
        current = (await self._state.subscriptions()).subscriptions.get(department)
        return current is not None and current.id == subscription_id

    async def replace(self, department: str, mailbox: str, removed_id: str) -> bool:
        """A `subscriptionRemoved`: create its successor only when Graph confirms the removal (a
        replayed or forged event must not cost a new subscription and a catch-up). True when
        replaced."""
        if await self._gateway.subscription_exists(removed_id):
            log.warning(
                "subscription removal not confirmed by Graph: nothing done",
                department=department,
                subscription_id=removed_id,
            )
            return False
        await self.create(department, mailbox)
        return True

    async def renew(self, department: str, mailbox: str) -> bool:
        """Renew (and so reauthorize); recreate when Graph lost it. True when recreated."""
        current = (await self._state.subscriptions()).subscriptions.get(department)
        if current is None:
            await self.create(department, mailbox)
            return True
        try:
            expires = await self._gateway.renew_subscription(
                current.id, self._expiry(current.certificate_id is not None)
            )
        except SubscriptionGone:
            await self.create(department, mailbox)
            return True
        record = current.model_copy(update={"expires": expires})
        await self._state.save_subscription(department, record)
        self._directory.remember(department, record)
        log.info("subscription renewed", department=department, subscription_id=current.id)
        return False


def report_subscriptions(
    departments: Iterable[str], records: Mapping[str, SubscriptionRecord], now: datetime
) -> None:
    """Each department's shared-mailbox subscription as the metrics `SUBSCRIPTION_ACTIVE` and
    `SUBSCRIPTION_EXPIRY_SECONDS` (the latter only while one is live)."""
    for department in departments:
        record = records.get(department)
        live = record is not None and record.expires > now
        SUBSCRIPTION_ACTIVE.labels(department).set(1 if live else 0)
        if record is not None and live:
            SUBSCRIPTION_EXPIRY_SECONDS.labels(department).set(
                (record.expires - now).total_seconds()
            )
        else:
            # No live subscription has no expiry: the series goes rather than read as 0.
            with contextlib.suppress(KeyError):
                SUBSCRIPTION_EXPIRY_SECONDS.remove(department)


class DeltaCatchUp:
    def __init__(
        self,
        gateway: GraphGateway,
        state: IngestState,
        queue: WorkQueue,
        ingest: IngestSettings,
        interval_seconds: float,
    ) -> None:
        self._gateway = gateway
        self._state = state
        self._queue = queue
        self._ingest = ingest
        self._interval = timedelta(seconds=interval_seconds)

    async def due(self, department: str) -> bool:
        now = datetime.now(UTC)
        for folder in self._ingest.delta_folders:
            record, _ = await self._state.delta(department, folder)
            if record is None or record.at + self._interval <= now:
                return True
        return False

    async def run(self, department: str, mailbox: str) -> int:
        """One delta round per folder; the number of changes handed to the fetcher."""
        found = 0
        for folder in self._ingest.delta_folders:
            found += await self._folder(department, mailbox, folder)
        return found

    async def _folder(self, department: str, mailbox: str, folder: str) -> int:
        record, revision = await self._state.delta(department, folder)
        size = self._ingest.delta_page_size
        try:
            findings, link = await self._gateway.delta_round(
                mailbox, folder, record.link if record else None, size
            )
        except DeltaRestart:
            log.warning("delta link expired, full sync", department=department, folder=folder)
            findings, link = await self._gateway.delta_round(mailbox, folder, None, size)
        if record is None and folder == SENT_ITEMS:
            # The first round only sets the cursor: mail sent before Sakspost watched the mailbox
            # is not judged, so starting Sakspost does not flood the supervisors with alerts.
            findings = []
        items = [
            MessageWork(
                department=department,
                mailbox=mailbox,
                message_id=f.message_id,
                presence="gone" if f.removed else "present",
                change_key=f.change_key,
                source="delta",
            )
            for f in findings
        ]
        # The work is stored before the link moves on: a crash in between repeats the round.
        await self._queue.put(list(items))
        saved = await self._state.save_delta(
            department, folder, DeltaRecord(link=link, at=datetime.now(UTC)), revision
        )
        log.info(
            "delta round",
            department=department,
            folder=folder,
            changes=len(items),
            link_saved=saved,
        )
        return len(items)


class Upkeep:
    """The lease loop: while this replica holds the lease, keep subscriptions and delta going."""

    def __init__(
        self,
        org: Organisation,
        ingest: IngestSettings,
        lease: Lease,
        keeper: SubscriptionKeeper,
        catch_up: DeltaCatchUp,
        isolation: Isolation,
        publish: Callable[[Alert], Awaitable[object]],
    ) -> None:
        self._org = org
        self._publish = publish
        # When each failing mailbox's run of failures began, and those already alerted.
        self._failing: dict[str, datetime] = {}
        self._alerted: set[str] = set()
        self._ingest = ingest
        self.lease = lease
        self._keeper = keeper
        self._catch_up = catch_up
        self._isolation = isolation
        self.holding = False
        # Mailboxes whose catch-up is owed regardless of the interval (after a takeover).
        self._owed: set[str] = set()

    async def run(self) -> None:
        period = min(self._ingest.lease_seconds / 3, self._ingest.upkeep_interval_seconds)
        last_tick = float("-inf")
        healthy = True
        while True:
            try:
                holding = await self.lease.hold()
            except Exception as error:  # NATS away: try again, never let the loop die
                log.warning("lease check failed", error=type(error).__name__)
                holding = False
            taken_over = holding and not self.holding
            if taken_over:
                log.info("upkeep lease taken", holder=self.lease.holder)
                self._owed = set(self._org.departments)
            self.holding = holding
            now = time.monotonic()
            due = now - last_tick >= self._ingest.upkeep_interval_seconds
            if holding and (taken_over or due or not healthy):
                healthy = await self.tick()
                last_tick = now
            await asyncio.sleep(period if healthy else min(period, RETRY_SOON_SECONDS))

    async def tick(self) -> bool:
        """Check every mailbox once; False when any of them failed (retried soon).

        A mailbox that fails (Graph or NATS away, or refusing it) does not hold up the others. A
        failure is logged at once but alerted only once it has lasted
        `subscription_alert_after_seconds`: a new subscription fails Graph's validation until this
        pod is ready, so an alert at once would come with every deploy; /statusz names the
        mailboxes not watched, and the failed one is retried soon."""
        healthy = True
        for department, config in self._org.shared_mailboxes():
            keep = partial(self._keep, department, config.mailbox)
            kept = await self._isolation.run(department, keep, department=department, alert=False)
            await self._judge(department, kept)
            healthy &= kept
        return healthy

    async def _judge(self, department: str, kept: bool) -> None:
        if kept:
            self._failing.pop(department, None)
            self._alerted.discard(department)
            return
        now = datetime.now(UTC)
        since = self._failing.setdefault(department, now)
        lasted = (now - since).total_seconds()
        if department in self._alerted or lasted < self._ingest.subscription_alert_after_seconds:
            return
        try:
            await self._publish(subscription_failed_alert(department, since, now))
        except Exception as error:  # NATS away: the next tick tries again
            log.warning("subscription alert not raised", error=type(error).__name__)
            return
        self._alerted.add(department)

    async def _keep(self, department: str, mailbox: str) -> None:
        created = await self._keeper.ensure(department, mailbox)
        owed = department in self._owed
        if created or owed or await self._catch_up.due(department):
            await self._catch_up.run(department, mailbox)
        self._owed.discard(department)


def subscription_failed_alert(department: str, since: datetime, now: datetime) -> Alert:
    """One alert per mailbox and run of failures (its id is the run's start)."""
    return Alert(
        event_id=make_event_id(
            "alert", "", AlertKind.SUBSCRIPTION_FAILED.value, department, since.isoformat()
        ),
        case_id=None,
        occurred_at=now,
        department=department,
        kind=AlertKind.SUBSCRIPTION_FAILED,
        severity=Severity.CRITICAL,
        summary="Postboksen er ikkje overvaka: Graph-abonnementet eller innhentinga har feila "
        f"sidan {since:%Y-%m-%d %H:%M} UTC",
    )
