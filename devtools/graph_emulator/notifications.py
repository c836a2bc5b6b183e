"""Delivery of change and lifecycle notifications, batched per URL and retried like Graph's.

Store changes arrive synchronously; each matching subscription gets one notification, which is
either dropped (fault switch), or queued for its URL. A worker per URL gathers what arrives within
a short window into one POST `{"value": [...]}`. A delivery that is not answered with 2xx is retried
with exponential backoff until the (shortened) give-up time; then the subscription hears `missed`.

A subscription with resource data gets the message as it is at the change, its `$select` of it
encrypted for the subscription's certificate (`resource_data.py`), and every POST that carries
such items also carries `validationTokens`: one token, signed by Entra ID's key, per subscribing
app. A deleted message has no resource data left to send.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from devtools.graph_emulator.clock import graph_datetime
from devtools.graph_emulator.faults import FaultBoard
from devtools.graph_emulator.resource_data import encrypted_content
from devtools.graph_emulator.resources import message_json
from devtools.graph_emulator.store import Change
from devtools.graph_emulator.subscriptions import Subscription, SubscriptionRegistry
from devtools.graph_emulator.timings import Timings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outgoing:
    subscription_id: str
    item: dict[str, Any]
    lifecycle: bool
    # The subscribing app, for an item with resource data (its POST carries a token for it).
    audience: str | None = None


@dataclass
class DeliveryStats:
    queued: int = 0
    delivered: int = 0
    dropped: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    batches: int = 0
    largest_batch: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Lane:
    queue: asyncio.Queue[Outgoing] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


def _pascal(name: str) -> str:
    return name if name.startswith("@") else name[:1].upper() + name[1:]


def _pascal_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_pascal(k): _pascal_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal_keys(v) for v in value]
    return value


class Dispatcher:
    def __init__(
        self,
        registry: SubscriptionRegistry,
        faults: FaultBoard,
        http: httpx.AsyncClient,
        timings: Timings,
        tenant_id: str,
        validation_token: Callable[[str], str],
    ) -> None:
        self._registry = registry
        self._faults = faults
        self._http = http
        self._timings = timings
        self._tenant_id = tenant_id
        self._validation_token = validation_token
        self._lanes: dict[str, _Lane] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self.stats = DeliveryStats()

    # --- what is sent ---------------------------------------------------------------------

    def _base(self, subscription: Subscription) -> dict[str, Any]:
        return {
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": graph_datetime(subscription.expires),
            "tenantId": self._tenant_id,
            "clientState": subscription.client_state,
        }

    def on_change(self, change: Change) -> None:
        """Store listener: one notification per subscription that covers the change."""
        for subscription in list(self._registry.subscriptions.values()):
            if subscription.mailbox is not change.mailbox:
                continue
            if subscription.folder not in (None, change.folder):
                continue
            if change.change_type not in subscription.change_types:
                continue
            if self._faults.drop_notification(change.mailbox.address):
                self.stats.dropped += 1
                continue
            item, audience = self.change_notification(subscription, change)
            self._enqueue(
                subscription.notification_url, Outgoing(subscription.id, item, False, audience)
            )

    def change_notification(
        self, subscription: Subscription, change: Change
    ) -> tuple[dict[str, Any], str | None]:
        """The item Graph sends `subscription` about `change`, and the app whose validation token
        must come with it (None: no resource data in it)."""
        resource = f"Users/{change.mailbox.user_id}@{self._tenant_id}/Messages/{change.message_id}"
        item = {
            "id": uuid.uuid4().hex,
            **self._base(subscription),
            "changeType": change.change_type,
            "resource": resource,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Message",
                "@odata.id": resource,
                "@odata.etag": change.etag,
                "id": change.message_id,
            },
        }
        content = self._resource_data(subscription, change, resource)
        if content is None:
            return item, None
        item["encryptedContent"] = content
        return item, subscription.application_id

    def _resource_data(
        self, subscription: Subscription, change: Change, resource: str
    ) -> dict[str, str] | None:
        """The encrypted `$select` of the changed message, for a subscription with resource data.

        Outlook's resource data names properties in Pascal case, as its own REST API does."""
        message = change.mailbox.messages.get(change.message_id)
        certificate = subscription.encryption_certificate
        if certificate is None or subscription.encryption_certificate_id is None or not message:
            return None
        if change.change_type == "deleted":
            return None
        shown = message_json(change.mailbox, message, subscription.select)
        properties = {_pascal(k): _pascal_keys(v) for k, v in shown.items()}
        data = {
            "@odata.type": "#Microsoft.OutlookServices.Message",
            "@odata.id": resource,
            **properties,
        }
        return encrypted_content(data, certificate, subscription.encryption_certificate_id)

    def send_lifecycle(self, subscription: Subscription, event: str) -> bool:
        """Queue a lifecycle event; False when the subscription has no lifecycle URL."""
        if subscription.lifecycle_url is None:
            return False
        item = {**self._base(subscription), "lifecycleEvent": event}
        self._enqueue(subscription.lifecycle_url, Outgoing(subscription.id, item, True))
        return True

    # --- how it is sent -------------------------------------------------------------------

    def _enqueue(self, url: str, outgoing: Outgoing) -> None:
        lane = self._lanes.setdefault(url, _Lane())
        if lane.worker is None:
            lane.worker = asyncio.get_running_loop().create_task(self._gather(url, lane))
        self.stats.queued += 1
        lane.queue.put_nowait(outgoing)

    async def _gather(self, url: str, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await lane.queue.get()]
            deadline = loop.time() + self._timings.batch_window
            while len(batch) < self._timings.max_batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(lane.queue.get(), remaining))
                except TimeoutError:
                    break
            task = loop.create_task(self._deliver(url, batch))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _post(self, url: str, batch: list[Outgoing]) -> bool:
        payload: dict[str, Any] = {"value": [outgoing.item for outgoing in batch]}
        audiences = sorted({o.audience for o in batch if o.audience is not None})
        if audiences:
            payload["validationTokens"] = [self._validation_token(a) for a in audiences]
        try:
            response = await self._http.post(
                url, json=payload, timeout=self._timings.delivery_timeout
            )
        except httpx.HTTPError as error:
            log.info("notification_failed", error=type(error).__name__, count=len(batch))
            return False
        if 200 <= response.status_code < 300:
            return True
        log.info("notification_refused", status=response.status_code, count=len(batch))
        return False

    async def _deliver(self, url: str, batch: list[Outgoing]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        delay = self._timings.retry_initial
        while True:
            # A subscription deleted meanwhile gets no more changes, as with Graph (its last
            # lifecycle event, subscriptionRemoved, still goes out).
            live = self._registry.subscriptions
            batch = [o for o in batch if o.lifecycle or o.subscription_id in live]
            if not batch:
                return
            self.stats.batches += 1
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            if await self._post(url, batch):
                self.stats.delivered += len(batch)
                return
            self.stats.failed_attempts += 1
            if loop.time() - started + delay > self._timings.retry_give_up:
                self._give_up(batch)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._timings.retry_max_delay)

    def _give_up(self, batch: list[Outgoing]) -> None:
        self.stats.given_up += len(batch)
        log.info("notifications_given_up", count=len(batch))
        for subscription_id in {o.subscription_id for o in batch if not o.lifecycle}:
            subscription = self._registry.subscriptions.get(subscription_id)
            if subscription is not None:
                self.send_lifecycle(subscription, "missed")

    async def close(self) -> None:
        tasks = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        tasks += list(self._deliveries)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
