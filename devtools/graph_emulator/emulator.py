"""The emulator's state and background work, independent of how it is served."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import structlog

from devtools.graph_emulator import persistence
from devtools.graph_emulator.clock import Clock
from devtools.graph_emulator.delivery import Postman
from devtools.graph_emulator.entra import SigningKey, validation_token
from devtools.graph_emulator.faults import FaultBoard
from devtools.graph_emulator.identity import AppRegistration, TokenIssuer
from devtools.graph_emulator.mailboxes import mailboxes_for
from devtools.graph_emulator.notifications import Dispatcher
from devtools.graph_emulator.requestlog import RequestLog
from devtools.graph_emulator.store import MailStore
from devtools.graph_emulator.subscriptions import Subscription, SubscriptionRegistry
from devtools.graph_emulator.timings import Timings
from services.common.orgconfig import Organisation

log = structlog.get_logger(__name__)

# The app id Graph reports as the creator of the emulator's subscriptions; locally also
# Sakspost's own registration people sign in to (one registration may serve both in Entra ID).
APPLICATION_ID = "5a5a0000-5a5a-4000-8000-000000000001"
# The local stack's operator application: its client credentials are recorded as the operator.
OPERATOR_APPLICATION_ID = "5a5a0000-5a5a-4000-8000-000000000002"


def tenant_id_for(domain: str) -> str:
    """The emulator's tenant id for a domain (stable: other processes derive it too)."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, domain.lower()))


class Emulator:
    def __init__(
        self,
        org: Organisation,
        timings: Timings,
        data_dir: Path | None,
        app_registration: AppRegistration | None = None,
    ) -> None:
        self.org = org
        self.timings = timings
        self.data_dir = data_dir
        self.tenant_id = tenant_id_for(org.domain)
        # Entra ID takes the tenant's id or one of its domains in the token URL.
        self.identity = (
            TokenIssuer(app_registration, [self.tenant_id, org.domain])
            if app_registration is not None
            else None
        )
        # The subscribing app: the registered one, else the one Graph reports without tokens.
        self.application_id = (
            app_registration.client_id if app_registration is not None else APPLICATION_ID
        )
        # Entra ID's signing key (validation tokens now, ID tokens for a web login later) and
        # the login host's URL, known once it listens.
        self.signing_key = SigningKey.load_or_create(data_dir)
        self.authority = ""
        self.clock = Clock()
        self.store = MailStore(self.clock)
        for mailbox in mailboxes_for(org):
            self.store.add_mailbox(mailbox)
        self.registry = SubscriptionRegistry()
        self.faults = FaultBoard()
        self.requests = RequestLog()
        self.postman = Postman(self.store, self.clock, org.domain)
        self.http = httpx.AsyncClient(trust_env=False)
        self.dispatcher = Dispatcher(
            self.registry, self.faults, self.http, timings, self.tenant_id, self.validation_token
        )
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def validation_token(self, audience: str) -> str:
        """A validation token for notifications to `audience`, signed by the tenant's key."""
        return validation_token(self.signing_key, self.authority, self.tenant_id, audience)

    def mark_dirty(self) -> None:
        self._dirty.set()

    async def start(self) -> None:
        if self.data_dir is not None:
            restored = persistence.load(self.data_dir, self.store, self.registry)
            log.info("state_loaded" if restored else "state_fresh")
            self._tasks.append(asyncio.create_task(self._flush_loop(self.data_dir)))
        self.store.on_mutation = self.mark_dirty
        self.store.subscribe(self.dispatcher.on_change)
        self._tasks.append(asyncio.create_task(self._expiry_loop()))

    def remove_subscription(self, subscription: Subscription) -> None:
        self.registry.subscriptions.pop(subscription.id, None)
        self.mark_dirty()

    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timings.expiry_sweep)
            for subscription in self.registry.expired(self.clock.now()):
                log.info("subscription_expired", subscription_id=subscription.id)
                self.remove_subscription(subscription)

    async def _flush_loop(self, directory: Path) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            persistence.save(directory, self.store, self.registry)
            await asyncio.sleep(self.timings.flush_interval)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.dispatcher.close()
        await self.http.aclose()
        if self.data_dir is not None:
            persistence.save(self.data_dir, self.store, self.registry)
