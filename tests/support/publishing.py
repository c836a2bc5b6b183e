"""Tests publish an event as the service whose event it is, with exactly that service's rights."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck

from schemas.events import Event
from services.common.jetstream import EVENTS_STREAM
from services.common.mimestore import MimeStore
from services.common.permissions import publisher_of


class EventInjector:
    """Publishes on a subject as the identity that owns it (`permissions.publisher_of`)."""

    def __init__(self, connect_as: Callable[[str], Awaitable[Client]]) -> None:
        self._connect_as = connect_as
        self._contexts: dict[str, JetStreamContext] = {}

    async def jetstream(self, identity: str) -> JetStreamContext:
        """The JetStream of `identity`'s connection (one per identity, opened when first asked)."""
        if identity not in self._contexts:
            self._contexts[identity] = (await self._connect_as(identity)).jetstream()
        return self._contexts[identity]

    async def publish(
        self,
        subject: str,
        payload: bytes,
        *,
        stream: str = EVENTS_STREAM,
        headers: dict[str, str] | None = None,
        identity: str | None = None,
    ) -> PubAck:
        """Publish as `identity`, by default the service that owns `subject`."""
        js = await self.jetstream(identity or publisher_of(subject).name)
        return await js.publish(subject, payload, stream=stream, headers=headers)

    async def event(self, event: Event, identity: str | None = None) -> PubAck:
        """Publish an event as its stage does: on its subject, deduplicated by its id.

        `identity` names the stage where two may publish a subject (a person's class change is
        the router's `classified`, the classifier's verdict is the default)."""
        return await self.publish(
            event.nats_subject(),
            event.to_json(),
            headers={"Nats-Msg-Id": event.event_id},
            identity=identity,
        )

    async def store_mime(self, raw: bytes) -> str:
        """Store a mail's MIME as ingest does (the store's one writer); its SHA-256."""
        return await MimeStore(await self.jetstream("ingest")).put(raw)
