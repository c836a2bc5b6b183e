"""A Sakspost service is a FastStream application on NATS; this is the one place that says how.

`ServiceApp` gives each service the same shape: a broker with tracing, a router holding its durable
JetStream consumers under the retry discipline (`retry.py`), the channels it publishes on declared
with their models (the AsyncAPI document is generated from these declarations), its shared
resources in FastStream's context, `/healthz`, `/readyz` and `/statusz` on FastStream's ASGI app,
a wait for provisioning (done by `sakspost provision` as admin) before any consumer starts, and a
graceful stop on SIGTERM.

What FastStream cannot do is kept beside it as small named pieces: provisioning that migrates a
changed durable consumer (`jetstream.py`) and each message's attempts in KV, deterministic
failures and attempts that crashed (`failures.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import structlog
import uvicorn
from faststream import AckPolicy
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.nats import JStream, NatsBroker, NatsRouter, PullSub
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from schemas.asyncapi import service_document
from schemas.events import ContractModel, utc_now
from schemas.examples import EXAMPLES
from services.common.broker import make_broker, service_login
from services.common.credentials import login_for
from services.common.deadletter import DeadLetters
from services.common.failures import FailureCounter, KvFailureCounter, MemoryFailureCounter
from services.common.jetstream import (
    FAILURES_BUCKET,
    FAILURES_TTL_SECONDS,
    BucketSpec,
    ConsumerSpec,
    Layout,
    base_layout,
    missing_consumers,
)
from services.common.logging import configure_logging
from services.common.metrics import CONSUMER_ACK_PENDING, CONSUMER_PENDING
from services.common.orgconfig import Organisation, load_organisation
from services.common.publisher import (
    DEAD_LETTER_ALERT_CHANNEL,
    DEAD_LETTER_CHANNEL,
    SKIPPED_ALERT_CHANNEL,
    Channel,
    EventPublisher,
)
from services.common.resources import JETSTREAM_KEY, PUBLISHER_KEY
from services.common.retry import DEAD_LETTERS_KEY, FAILURES_KEY, RetryDiscipline, RetryPolicy
from services.common.settings import Settings
from services.common.starts import STARTS_BUCKET, Start, record_start, this_instance
from services.common.workers import WorkerPool

log = structlog.get_logger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PROVISIONING_POLL_SECONDS = 1.0
PROVISIONING_POLL_MAX_SECONDS = 30.0
ReadinessCheck = Callable[[], Awaitable[str | None]]
Hook = Callable[[], Awaitable[None]]


class ServiceApp:
    """One Sakspost service: declare in `build`, then `serve()` (or `running()` in tests)."""

    def __init__(
        self,
        name: str,
        description: str,
        settings: Settings,
        org: Organisation,
        *,
        publishes: Sequence[Channel] = (),
        buckets: Sequence[BucketSpec] = (),
        streams: Sequence[api.StreamConfig] = (),
        failures: FailureCounter | None = None,
        examples: Mapping[str, ContractModel] = EXAMPLES,
    ) -> None:
        self.name = name
        self.description = description
        self.settings = settings
        self.org = org
        self.broker: NatsBroker = make_broker(settings, name, service_login(settings, name))
        self.policy = RetryPolicy(
            base_seconds=settings.retry_base_seconds,
            max_seconds=settings.retry_max_seconds,
            max_deterministic_failures=settings.max_deterministic_failures,
            max_crashed_attempts=settings.max_crashed_attempts,
            ack_wait_seconds=settings.ack_wait_seconds,
        )
        # JetStream consumers live on this router, so the retry discipline applies to them and
        # not to request-reply commands, which are plain subscribers of the broker.
        self.events = NatsRouter(middlewares=(RetryDiscipline(self.policy, name),))
        self.broker.include_router(self.events)
        self.publisher = EventPublisher(
            self.broker,
            (*publishes, DEAD_LETTER_CHANNEL, DEAD_LETTER_ALERT_CHANNEL, SKIPPED_ALERT_CHANNEL),
        )
        self.consumers: list[ConsumerSpec] = []
        self.buckets = list(buckets)
        self.streams = list(streams)
        self.readiness_checks: list[ReadinessCheck] = []
        # Gauges read from NATS when Prometheus scrapes (`on_scrape`), besides consumer lag.
        self.scrape_hooks: list[Hook] = []
        # Work a service has not finished that must not withhold its traffic: a pod that is not
        # ready gets no requests, so a condition only requests can cure (ingest's subscriptions,
        # which Graph validates by calling the webhook through the Service) never clears if it
        # makes the pod unready. /readyz shows these; /statusz also fails on them.
        self.pending_checks: list[ReadinessCheck] = []
        # Tests on FastStream's in-memory broker pass a counter; services count in KV.
        self._failures = failures
        self._examples = examples
        self._js: JetStreamContext | None = None
        self._workers: WorkerPool | None = None
        self._shutdown_hooks: list[Hook] = []
        self._ready = asyncio.Event()
        self.app = AsgiFastStream(
            self.broker,
            asgi_routes=[
                ("/healthz", self._healthz()),
                ("/readyz", self._report(pending_fails=False)),
                ("/statusz", self._report(pending_fails=True)),
                ("/metrics", self._metrics()),
            ],
            on_startup=[self._connect],
            after_startup=[self._started],
            on_shutdown=[self._stopping],
            after_shutdown=[self._shut_down],
            # ServiceApp logs its own start and stop, in the service's structured log.
            logger=None,
        )
        self.put(DEAD_LETTERS_KEY, DeadLetters(self.publisher, org.common_department))
        # FastStream's in-memory test broker never connects: it keeps attempts in a dict.
        # A connected service replaces that with KV (`_connect`), before any consumer starts.
        self.put(FAILURES_KEY, failures or MemoryFailureCounter())
        self.put(PUBLISHER_KEY, self.publisher)

    # --- declarations ---------------------------------------------------------------------

    def consumer(self, spec: ConsumerSpec, concurrency: int = 1) -> Callable[[Any], Any]:
        """Decorate a handler as this durable consumer's; its first parameter's type decides how
        the payload is decoded (a contract model, or a union discriminated on `type`).

        `concurrency` above 1 handles that many messages at once (for handlers whose work runs
        in the worker pool: one slow mail then holds one worker, not the whole consumer)."""
        spec = replace(spec, ack_wait_seconds=self.settings.ack_wait_seconds)
        self.consumers.append(spec)
        parallel: dict[str, Any] = {"max_workers": concurrency} if concurrency > 1 else {}
        subscriber: Callable[[Any], Any] = self.events.subscriber(
            config=spec.config(),
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            pull_sub=PullSub(batch_size=1, timeout=1.0),
            # FastStream's default is the shared `_INBOX.`, which the service may not subscribe to.
            inbox_prefix=f"{service_login(self.settings, self.name).inbox_prefix}.".encode(),
            ack_policy=AckPolicy.MANUAL,
            title=spec.durable,
            description=spec.description,
            **parallel,
        )
        return subscriber

    def put(self, key: str, value: object) -> None:
        """Share `value` with handlers through FastStream's context (`Context(key)`)."""
        self.broker.context.set_global(key, value)

    def on_startup(self, hook: Hook) -> Hook:
        """Run `hook` once connected and its consumers exist, before any consumer starts."""
        self.app.on_startup(hook)
        return hook

    def on_scrape(self, hook: Hook) -> Hook:
        """Run `hook` before each `/metrics` answer (a gauge read from NATS or KV then)."""
        self.scrape_hooks.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Run `hook` after the consumers stopped and in-flight handlers finished, in the order
        given; the worker pool closes after the last of them."""
        self._shutdown_hooks.append(hook)
        return hook

    async def _shut_down(self) -> None:
        # The pool closes last: a background loop is cancelled in a hook, and until then it may
        # still hand work to the pool.
        for hook in self._shutdown_hooks:
            await hook()
        if self._workers is not None:
            await self._workers.close()

    def workers(self, preload: tuple[str, ...] = ()) -> WorkerPool:
        """The service's worker processes, for work on a mail that must not run on its event
        loop (parse, classification, rendering: `workers.py`). Declared on first call, with the
        modules its workers start with (`preload`); the workers start with the first mail (a
        replica that never gets one spends nothing on them) and are closed after the service's
        handlers finished and its shutdown hooks ran."""
        if self._workers is None:
            pool = WorkerPool(
                self.settings.worker_limits(), f"sakspost-{self.name}-worker", preload
            )
            self._workers = pool
        return self._workers

    def layout(self) -> Layout:
        """The common layout plus this service's own streams, buckets and consumers."""
        base = base_layout(self.settings)
        return Layout(
            streams=(*base.streams, *self.streams),
            buckets=(*base.buckets, *self.buckets),
            object_stores=base.object_stores,
            consumers=tuple(self.consumers),
        )

    def asyncapi(self) -> dict[str, Any]:
        """This service's AsyncAPI 3.0 document: FastStream's, from its declarations, completed."""
        return service_document(
            self.broker,
            f"sakspost-{self.name}",
            self.description,
            examples=self._examples,
            identity=self.name,
        )

    # --- lifecycle ------------------------------------------------------------------------

    def jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError(f"{self.name} is not connected yet")
        return self._js

    async def key_value(self, bucket: str) -> KeyValue:
        return await self.jetstream().key_value(bucket)

    async def _connect(self) -> None:
        login_for(
            self.settings, self.name
        )  # no login: say so, rather than "Authorization Violation"
        await self.broker.connect()
        js = self.broker.config.connection_state.stream
        assert js is not None
        self._js = js
        self.put(JETSTREAM_KEY, js)
        await self._wait_for_provisioning(js)
        self.put(
            FAILURES_KEY,
            self._failures
            or KvFailureCounter(await js.key_value(FAILURES_BUCKET), FAILURES_TTL_SECONDS),
        )

    async def _wait_for_provisioning(self, js: JetStreamContext) -> None:
        """Wait until `sakspost provision` (admin) has created this service's consumers.

        A service may not create or change streams and consumers (`permissions.py`); on a first
        deploy it can start before the provision Job has run, and then waits, not ready.
        """
        delay = PROVISIONING_POLL_SECONDS
        while missing := await missing_consumers(js, self.consumers):
            log.warning("waiting for provisioning", service=self.name, missing=missing)
            await asyncio.sleep(delay)
            delay = min(delay * 2, PROVISIONING_POLL_MAX_SECONDS)

    async def _started(self) -> None:
        self._ready.set()
        await self._record_start()
        log.info("service started", service=self.name, consumers=len(self.consumers))

    async def _record_start(self) -> None:
        """Counted by the notifier, which tells operations of an instance that keeps restarting."""
        start = Start(self.name, this_instance(), utc_now())
        try:
            await record_start(await self.key_value(STARTS_BUCKET), start)
        except Exception as error:  # an unrecorded start must never keep a service from running
            log.warning("start not recorded", service=self.name, error=type(error).__name__)

    async def _stopping(self) -> None:
        self._ready.clear()
        log.info("service stopping", service=self.name)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The service started in this event loop without its HTTP port (tests, tools)."""
        async with self.app.start_lifespan_context():
            yield

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
        if self._js is not None and not problems:
            for spec in self.consumers:
                try:
                    await self._js.consumer_info(spec.stream, spec.durable)
                except Exception as error:
                    problems.append(f"consumer {spec.durable}: {type(error).__name__}")
        for check in self.readiness_checks:
            problem = await check()
            if problem:
                problems.append(problem)
        return problems

    def _healthz(self) -> Any:
        body = json.dumps({"service": self.name, "status": "alive"}).encode()

        @get(include_in_schema=False)
        async def healthz(_scope: Any) -> AsgiResponse:
            return AsgiResponse(body, 200, headers={"content-type": "application/json"})

        return healthz

    async def pending(self) -> list[str]:
        """What this service has yet to finish while it serves (empty when nothing is)."""
        found = [await check() for check in self.pending_checks]
        return [finding for finding in found if finding]

    def _report(self, *, pending_fails: bool) -> Any:
        """/readyz (Kubernetes's readiness: fails on problems only) or /statusz (fails on
        anything pending too: the whole service is working)."""

        @get(include_in_schema=False)
        async def report(_scope: Any) -> AsgiResponse:
            problems = await self.readiness()
            pending = await self.pending()
            ready = not problems
            body = {"service": self.name, "ready": ready, "problems": problems, "pending": pending}
            healthy = ready and not (pending_fails and pending)
            return AsgiResponse(
                json.dumps(body).encode(),
                200 if healthy else 503,
                headers={"content-type": "application/json"},
            )

        return report

    async def _read_consumer_lag(self) -> None:
        """Each of this service's consumers' backlog, as JetStream counts it now. A consumer
        NATS cannot describe keeps its last value: the scrape still answers."""
        if self._js is None:
            return
        for spec in self.consumers:
            try:
                info = await self._js.consumer_info(spec.stream, spec.durable, timeout=2.0)
            except Exception as error:  # a failed read is a gap in a graph, never a failed scrape
                log.warning(
                    "consumer lag unread", consumer=spec.durable, error=type(error).__name__
                )
                continue
            CONSUMER_PENDING.labels(spec.durable).set(info.num_pending or 0)
            CONSUMER_ACK_PENDING.labels(spec.durable).set(info.num_ack_pending or 0)

    def _metrics(self) -> Any:
        """`/metrics`: every family of `metrics.py` in Prometheus's text format."""

        @get(include_in_schema=False)
        async def metrics(_scope: Any) -> AsgiResponse:
            await self._read_consumer_lag()
            for hook in self.scrape_hooks:
                try:
                    await hook()
                except Exception as error:  # as above: a stale gauge, not a failed scrape
                    log.warning("metric unread", error=type(error).__name__)
            return AsgiResponse(
                generate_latest(REGISTRY), 200, headers={"content-type": CONTENT_TYPE_LATEST}
            )

        return metrics

    def mount(self, path: str, route: Any) -> None:
        """Serve another ASGI app (e.g. a Starlette route) at exactly `path`."""
        self.app.mount(path, route)

    def fallback(self, app: Any) -> None:
        """Serve `app` (a whole web application: the overview's pages) for every HTTP path the
        service's own routes (/healthz, /readyz, /statusz, /metrics, `mount`) do not take."""
        self.app.not_found = app  # type: ignore[method-assign]

    async def serve(self) -> None:
        """Run until SIGTERM or SIGINT, then stop gracefully (uvicorn drives the lifespan)."""
        config = uvicorn.Config(
            self.app,
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
