"""The router service: the case record's only writer (R8, R10–R13, R17).

It consumes `received`, `classified`, `archived`, `changed` and `deleted`; publishes `routed`,
`completed`, human class corrections (`classified` with `by`) and alerts; writes each case back
onto its message in Outlook; answers the supervisors' commands on `sakspost.cmd.<verb>`; and
watches deadlines every minute. Nothing connects before the service starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from faststream.nats.annotations import NatsMessage
from pydantic import Field

from schemas.commands import (
    CaseAssignRequest,
    CaseClassifyRequest,
    CaseConfirmPrivateRequest,
    CaseDoneRequest,
    CaseListRequest,
    CaseShowRequest,
    CommandReply,
    Verb,
)
from schemas.events import (
    Alert,
    MailArchived,
    MailChanged,
    MailClassified,
    MailCompleted,
    MailDeleted,
    MailReceived,
    MailRouted,
)
from schemas.subjects import mail_event_filter
from services.common.actors import Actor
from services.common.app import ServiceApp
from services.common.away import AwayCheck
from services.common.clock import Clock, system_clock
from services.common.commanding import (
    Gate,
    answer_verified,
    command_gate,
    command_router,
    command_subscriber,
)
from services.common.errors import TransientError
from services.common.graph import graph_client_for
from services.common.jetstream import CASES_BUCKET, WRITEBACKS_BUCKET, ConsumerSpec
from services.common.orgconfig import Organisation
from services.common.publisher import Channel
from services.common.settings import Settings
from services.router.commands import Commands
from services.router.context import RouterContext
from services.router.flow import CaseFlow
from services.router.graph_io import OutlookWriter
from services.router.outlook_sync import OutlookSync
from services.router.planner import Planner
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


@dataclass
class Router:
    """What the router builds once it is connected."""

    flow: CaseFlow
    commands: Commands
    gate: Gate
    watch: Watch
    watching: asyncio.Task[None] | None = field(default=None)


@dataclass
class RouterHolder:
    router: Router | None = None

    def ready(self) -> Router:
        if self.router is None:
            raise TransientError("the router is starting")
        return self.router


PUBLISHES = (
    Channel("sakspost.mail.routed.{department}", MailRouted, "Department and assignee"),
    Channel("sakspost.mail.completed.{department}", MailCompleted, "A case is Ferdig"),
    Channel("sakspost.mail.classified.{department}", MailClassified, "A human corrected a class"),
    Channel("sakspost.alert.{kind}.{department}", Alert, "Supervisors must know"),
)
# Every fact about a case, in one consumer so that they arrive in the order they happened.
CaseEvent = Annotated[
    MailReceived | MailClassified | MailArchived | MailChanged | MailDeleted,
    Field(discriminator="type"),
]


def build(
    settings: Settings,
    org: Organisation,
    *,
    clock: Clock = system_clock,
    router_settings: RouterSettings | None = None,
    holder: RouterHolder | None = None,
) -> ServiceApp:
    """The router; `holder` gives a caller (a test, a supervisor process) the parts once started."""
    config = router_settings or RouterSettings()
    service = ServiceApp(
        "router",
        "Routes every classified mail to its department and one caseworker, shows it in Outlook, "
        "hears humans, marks cases Ferdig and alerts supervisors.",
        settings,
        org,
        publishes=PUBLISHES,
    )
    ctx = RouterContext.for_organisation(org)
    parts = holder or RouterHolder()

    @service.consumer(INPUTS, concurrency=config.concurrency)
    async def on_event(event: CaseEvent) -> None:
        await parts.ready().flow.handle(event)

    _answer_commands(service, parts, clock)

    @service.on_startup
    async def start() -> None:
        # No command is answered for anyone the router cannot verify: without Sakspost's own app
        # registration it does not start (SettingsError names the missing variables).
        gate = command_gate(settings, org)
        graph = graph_client_for(settings)
        store = CaseStore(
            await service.key_value(CASES_BUCKET), await service.key_value(WRITEBACKS_BUCKET)
        )
        replies = AwayCheck(graph, org, clock, config.away_cache_seconds)
        flow = CaseFlow(
            ctx,
            store,
            Planner(ctx, store, replies),
            OutlookSync(ctx, store, OutlookWriter(graph), clock, config.max_write_attempts),
            service.publisher,
            clock,
            max_attempts=config.max_write_attempts,
            case_wait_seconds=config.case_wait_seconds,
        )
        await flow.split_legacy_workboard()
        watch = Watch(flow, service.publisher, clock, replies)
        parts.router = Router(
            flow=flow,
            commands=Commands(flow, gate, clock),
            gate=gate,
            watch=watch,
            watching=asyncio.create_task(watch.run(config.watch_interval_seconds)),
        )

    @service.on_shutdown
    async def stop() -> None:
        router = parts.router
        if router is not None and router.watching is not None:
            router.watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await router.watching

    async def started() -> str | None:
        return None if parts.router is not None else "router: not started"

    service.readiness_checks.append(started)
    return service


def _answer_commands(service: ServiceApp, holder: RouterHolder, clock: Clock) -> None:
    """Answer `sakspost.cmd.<verb>` requests (core NATS request-reply, one replica each).

    Each handler is typed with its verb's request model, so the AsyncAPI document shows it; a
    request that does not validate still gets a reply naming the problem (`invalid_request`).
    The actor comes from the message's `Authorization` header, never from the body.
    """
    commands = command_router(clock)

    async def run(
        verb: Verb,
        message: NatsMessage,
        case_id: str | None,
        work: Callable[[Commands, Actor], Awaitable[CommandReply]],
    ) -> CommandReply:
        router = holder.router
        ready = (router.gate, router.commands) if router is not None else None
        return await answer_verified("router", verb, message.headers, case_id, ready, work, clock)

    @command_subscriber(commands, Verb.LIST)
    async def list_cases(request: CaseListRequest, message: NatsMessage) -> CommandReply:
        return await run(Verb.LIST, message, None, lambda c, a: c.list_cases(request, a))

    @command_subscriber(commands, Verb.SHOW)
    async def show(request: CaseShowRequest, message: NatsMessage) -> CommandReply:
        return await run(Verb.SHOW, message, request.case_id, lambda c, a: c.show(request, a))

    @command_subscriber(commands, Verb.ASSIGN)
    async def assign(request: CaseAssignRequest, message: NatsMessage) -> CommandReply:
        return await run(Verb.ASSIGN, message, request.case_id, lambda c, a: c.assign(request, a))

    @command_subscriber(commands, Verb.DONE)
    async def done(request: CaseDoneRequest, message: NatsMessage) -> CommandReply:
        return await run(Verb.DONE, message, request.case_id, lambda c, a: c.done(request, a))

    @command_subscriber(commands, Verb.CLASSIFY)
    async def classify(request: CaseClassifyRequest, message: NatsMessage) -> CommandReply:
        return await run(
            Verb.CLASSIFY, message, request.case_id, lambda c, a: c.classify(request, a)
        )

    @command_subscriber(commands, Verb.CONFIRM_PRIVATE)
    async def confirm_private(
        request: CaseConfirmPrivateRequest, message: NatsMessage
    ) -> CommandReply:
        return await run(
            Verb.CONFIRM_PRIVATE,
            message,
            request.case_id,
            lambda c, a: c.confirm_private(request, a),
        )

    service.broker.include_router(commands)
