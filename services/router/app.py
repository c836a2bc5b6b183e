"""The router service: the case record's only writer (R8, R10–R13, R17).

It consumes `received`, `classified`, `archived`, `changed` and `deleted`; publishes `routed`,
`completed`, human class corrections (`classified` with `by`) and alerts; writes each case back
onto its message in Outlook; answers the supervisors' commands on `sakspost.cmd.<verb>`; and
watches deadlines every minute. Nothing connects before the service starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from faststream.nats.annotations import NatsMessage

from schemas.commands import Verb
from schemas.events import (
    Alert,
    MailArchived,
    MailChanged,
    MailClassified,
    MailCompleted,
    MailDeleted,
    MailEventBase,
    MailReceived,
    MailRouted,
)
from schemas.subjects import mail_event_filter
from services.common.consumer import TransientError
from services.common.graph import graph_client_for
from services.common.jetstream import CASES_BUCKET, INGEST_BUCKET, ConsumerSpec
from services.common.orgconfig import Organisation
from services.common.service import Published, Service, ServiceContext
from services.common.settings import Settings
from services.router.clock import Clock, system_clock
from services.router.commands import Commands
from services.router.context import RouterContext
from services.router.graph_io import AutoReplies, OutlookWriter
from services.router.handlers import EventHandlers
from services.router.keeper import CaseKeeper
from services.router.settings import RouterSettings
from services.router.store import CaseStore
from services.router.watch_task import Watch

INPUTS = ConsumerSpec(
    "router",
    tuple(
        mail_event_filter(event)
        for event in ("received", "classified", "archived", "changed", "deleted")
    ),
    description="Open, route, complete and watch every case (R8, R10-R13, R17)",
)
# One replica answers each command; any replica may.
COMMAND_QUEUE = "router"


@dataclass
class Router:
    """What the router builds once it is connected."""

    keeper: CaseKeeper
    handlers: EventHandlers
    commands: Commands
    watch: Watch
    watching: asyncio.Task[None] | None = field(default=None)


@dataclass
class RouterHolder:
    router: Router | None = None

    def ready(self) -> Router:
        if self.router is None:
            raise TransientError("the router is starting")
        return self.router


def build(
    settings: Settings,
    org: Organisation,
    *,
    clock: Clock = system_clock,
    router_settings: RouterSettings | None = None,
    holder: RouterHolder | None = None,
) -> Service:
    """The router; `holder` gives a caller (a test, a supervisor process) the parts once started."""
    config = router_settings or RouterSettings()
    service = Service(
        "router",
        "Routes every classified mail to its department and one caseworker, shows it in Outlook, "
        "hears humans, marks cases Ferdig and alerts supervisors.",
        settings,
        org,
    )
    service.publishes.extend(
        [
            Published("sakspost.mail.routed.{department}", MailRouted, "Department and assignee"),
            Published("sakspost.mail.completed.{department}", MailCompleted, "A case is Ferdig"),
            Published(
                "sakspost.mail.classified.{department}", MailClassified, "A human corrected a class"
            ),
            Published("sakspost.alert.{kind}.{department}", Alert, "Supervisors must know"),
        ]
    )
    ctx = RouterContext.for_organisation(org)
    holder = holder or RouterHolder()

    @service.consume(INPUTS, MailReceived, MailClassified, MailArchived, MailChanged, MailDeleted)
    async def on_event(event: MailEventBase, _context: ServiceContext) -> None:
        await holder.ready().handlers.handle(event)

    for verb in Verb:
        _answer(service, holder, verb)

    async def start(context: ServiceContext) -> None:
        graph = graph_client_for(settings)
        store = CaseStore(
            await context.key_value(CASES_BUCKET), await context.key_value(INGEST_BUCKET)
        )
        keeper = CaseKeeper(
            ctx,
            store,
            context.publisher,
            OutlookWriter(graph),
            AutoReplies(graph, org, clock, config.away_cache_seconds),
            clock,
            config.max_write_attempts,
        )
        watch = Watch(keeper, context.publisher, clock)
        holder.router = Router(
            keeper=keeper,
            handlers=EventHandlers(keeper, context.publisher, clock, config.case_wait_seconds),
            commands=Commands(keeper, clock),
            watch=watch,
            watching=asyncio.create_task(watch.run(config.watch_interval_seconds)),
        )

    async def stop(_context: ServiceContext) -> None:
        router = holder.router
        if router is not None and router.watching is not None:
            router.watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await router.watching

    async def started() -> str | None:
        return None if holder.router is not None else "router: not started"

    service.on_startup.append(start)
    service.on_shutdown.append(stop)
    service.readiness_checks.append(started)
    return service


def _answer(service: Service, holder: RouterHolder, verb: Verb) -> None:
    """Answer `sakspost.cmd.<verb>` requests (core NATS request-reply, one replica each)."""

    async def answer(message: NatsMessage) -> bytes:
        router = holder.router
        if router is None:
            return b'{"ok": false, "error": {"code": "busy", "message": "the router is starting"}}'
        return await router.commands.handle(verb, message.body)

    service.broker.subscriber(verb.subject, queue=COMMAND_QUEUE, include_in_schema=False)(answer)
