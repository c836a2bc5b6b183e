"""The common shape of a Sakspost service: a FastStream NATS broker, durable pull consumers
under the retry discipline, its own /healthz and /readyz, graceful stop on SIGTERM.

A service declares what it consumes and publishes (this also generates its AsyncAPI document), and
registers handlers that receive a decoded event. Provisioning runs before any consumer starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
import uvicorn
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from schemas.events import ContractModel
from schemas.export import Channel, asyncapi_document
from services.common.broker import make_broker
from services.common.consumer import (
    FailureCounter,
    MessageProcessor,
    RetryPolicy,
    decode_event,
    event_type,
)
from services.common.jetstream import (
    EVENTS_STREAM,
    FAILURES_BUCKET,
    BucketSpec,
    ConsumerSpec,
    Layout,
    base_layout,
    provision,
)
from services.common.logging import configure_logging
from services.common.orgconfig import Organisation, load_organisation
from services.common.publisher import EventPublisher
from services.common.settings import Settings

log = structlog.get_logger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
EventT = TypeVar("EventT", bound=ContractModel)
ReadinessCheck = Callable[[], Awaitable[str | None]]
Hook = Callable[["ServiceContext"], Awaitable[None]]


@dataclass
class ServiceContext:
    """What a handler may use: settings, organisation, publisher, JetStream."""

    name: str
    settings: Settings
    org: Organisation
    broker: NatsBroker
    publisher: EventPublisher
    js: JetStreamContext | None = None

    def jetstream(self) -> JetStreamContext:
        if self.js is None:
            raise RuntimeError("JetStream is not connected yet")
        return self.js

    async def key_value(self, bucket: str) -> KeyValue:
        return await self.jetstream().key_value(bucket)


@dataclass(frozen=True)
class Published:
    """A subject pattern a service publishes on, with its payload model (for AsyncAPI)."""

    subject: str
    model: type[ContractModel]
    description: str = ""


@dataclass
class Subscription(Generic[EventT]):
    spec: ConsumerSpec
    models: tuple[type[ContractModel], ...]
    handler: Callable[[EventT, ServiceContext], Awaitable[None]]
    decode: Callable[[bytes], EventT]


@dataclass
class Service:
    name: str
    description: str
    settings: Settings
    org: Organisation
    publishes: list[Published] = field(default_factory=list)
    subscriptions: list[Subscription[Any]] = field(default_factory=list)
    readiness_checks: list[ReadinessCheck] = field(default_factory=list)
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)
    routes: list[BaseRoute] = field(default_factory=list)
    # JetStream resources this service owns beyond the common layout (e.g. ingest's work stream);
    # provisioned with everything else, so `sakspost provision` creates them too.
    streams: list[api.StreamConfig] = field(default_factory=list)
    buckets: list[BucketSpec] = field(default_factory=list)
    broker: NatsBroker = field(init=False)
    context: ServiceContext = field(init=False)
    _ready: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.broker = make_broker(self.settings, self.name)
        self.context = ServiceContext(
            self.name, self.settings, self.org, self.broker, EventPublisher(self.broker)
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            base_seconds=self.settings.retry_base_seconds,
            max_seconds=self.settings.retry_max_seconds,
            max_deterministic_failures=self.settings.max_deterministic_failures,
            ack_wait_seconds=self.settings.ack_wait_seconds,
        )

    def consume(
        self,
        spec: ConsumerSpec,
        *models: type[EventT],
    ) -> Callable[
        [Callable[[EventT, ServiceContext], Awaitable[None]]],
        Callable[[EventT, ServiceContext], Awaitable[None]],
    ]:
        """Register a handler for a durable consumer; the payload is decoded into one of `models`.

        With several models the payload's `type` field picks the model.
        """
        by_type: dict[str, type[EventT]] = {}
        for model in models:
            type_field = model.model_fields.get("type")
            by_type[str(type_field.default if type_field else model.__name__)] = model

        def decode(data: bytes) -> EventT:
            if len(models) == 1:
                return decode_event(models[0], data)
            return decode_event(by_type.get(event_type(data) or "", models[0]), data)

        def register(
            handler: Callable[[EventT, ServiceContext], Awaitable[None]],
        ) -> Callable[[EventT, ServiceContext], Awaitable[None]]:
            spec_with_wait = ConsumerSpec(
                durable=spec.durable,
                filter_subjects=spec.filter_subjects,
                ack_wait_seconds=self.settings.ack_wait_seconds,
                max_ack_pending=spec.max_ack_pending,
                stream=spec.stream,
                description=spec.description,
            )
            self.subscriptions.append(Subscription(spec_with_wait, models, handler, decode))
            return handler

        return register

    # --- lifecycle ------------------------------------------------------------------------

    def _bind(self, subscription: Subscription[Any]) -> None:
        spec = subscription.spec
        service = self

        async def on_message(msg: NatsMessage) -> None:
            kv = await service.context.key_value(FAILURES_BUCKET)
            processor = MessageProcessor(
                spec.durable,
                service.context.publisher,
                FailureCounter(kv, spec.durable),
                service.retry_policy,
                service.org.common_department,
            )

            async def handle() -> None:
                event = subscription.decode(msg.raw_message.data)
                await subscription.handler(event, service.context)

            await processor.run(msg, handle)

        self.broker.subscriber(
            spec.filter_subjects[0],
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            pull_sub=PullSub(batch_size=1, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
            title=f"{self.name}:{spec.durable}",
            include_in_schema=False,
        )(on_message)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette | None = None) -> AsyncIterator[None]:
        for subscription in self.subscriptions:
            self._bind(subscription)
        await self.broker.connect()
        js = self.broker.config.connection_state.stream
        assert js is not None
        self.context.js = js
        result = await provision(js, self.layout(), self.settings.stream_replicas)
        changed = {k: v for k, v in result.items() if v != "unchanged"}
        log.info("provisioned", service=self.name, changed=changed)
        for hook in self.on_startup:
            await hook(self.context)
        await self.broker.start()
        self._ready.set()
        log.info("service started", service=self.name, consumers=len(self.subscriptions))
        try:
            yield
        finally:
            self._ready.clear()
            log.info("service stopping", service=self.name)
            # Stops fetching, lets in-flight handlers finish (graceful_timeout), drains.
            await self.broker.stop()
            for hook in self.on_shutdown:
                await hook(self.context)
            log.info("service stopped", service=self.name)

    def layout(self) -> Layout:
        """The common layout plus this service's own streams, buckets and consumers."""
        base = base_layout(self.settings)
        return Layout(
            streams=(*base.streams, *self.streams),
            buckets=(*base.buckets, *self.buckets),
            object_stores=base.object_stores,
            consumers=tuple(s.spec for s in self.subscriptions),
        )

    def asyncapi(self) -> dict[str, Any]:
        """This service's AsyncAPI document, from what it declares it consumes and publishes."""
        receives = [
            Channel(
                s.spec.durable, " | ".join(s.spec.filter_subjects), s.models, s.spec.description
            )
            for s in self.subscriptions
        ]
        sends = [Channel(p.subject, p.subject, (p.model,), p.description) for p in self.publishes]
        return asyncapi_document(f"sakspost-{self.name}", self.description, receives, sends)

    async def readiness(self) -> list[str]:
        """Problems that make this service not ready; empty when ready. Speaks for itself only."""
        if not self._ready.is_set():
            return ["starting"]
        problems: list[str] = []
        try:
            if not await self.broker.ping(timeout=2.0):
                problems.append("nats: no answer")
        except Exception as error:  # a failed probe is a finding, never a crash
            problems.append(f"nats: {type(error).__name__}")
        js = self.context.js
        if js is not None and not problems:
            for subscription in self.subscriptions:
                try:
                    await js.consumer_info(subscription.spec.stream, subscription.spec.durable)
                except Exception as error:
                    problems.append(f"consumer {subscription.spec.durable}: {type(error).__name__}")
        for check in self.readiness_checks:
            problem = await check()
            if problem:
                problems.append(problem)
        return problems

    def asgi_app(self) -> Starlette:
        async def healthz(_request: Request) -> Response:
            return JSONResponse({"service": self.name, "status": "alive"})

        async def readyz(_request: Request) -> Response:
            problems = await self.readiness()
            return JSONResponse(
                {"service": self.name, "ready": not problems, "problems": problems},
                status_code=200 if not problems else 503,
            )

        routes: list[BaseRoute] = [
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *self.routes,
        ]
        return Starlette(routes=routes, lifespan=self.lifespan)

    async def serve(self) -> None:
        """Run until SIGTERM or SIGINT, then stop gracefully (uvicorn drives the lifespan)."""
        config = uvicorn.Config(
            self.asgi_app(),
            host=self.settings.http_host,
            port=self.settings.port_for(self.name),
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=max(15, int(self.settings.ack_wait_seconds)),
        )
        await _GracefulServer(config).serve()


class _GracefulServer(uvicorn.Server):
    """uvicorn, minus re-raising the stop signal after shutdown: a graceful stop exits with 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def prepare(name: str) -> tuple[Settings, Organisation]:
    """Settings, organisation and logging for a service process (fails fast with a clear error)."""
    from services.common.settings import load_settings

    settings = load_settings()
    org = load_organisation(settings.org_config)
    configure_logging(
        name,
        settings.log_level,
        settings.log_format,
        allowed_domains=[org.domain],
    )
    return settings, org


__all__ = ["EVENTS_STREAM", "Published", "Service", "ServiceContext", "prepare"]
