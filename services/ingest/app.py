"""The ingest service: Graph webhook, fetcher, subscription upkeep and delta catch-up (R4, R13).

Mail enters Sakspost only here. The webhook stores accepted notifications in ingest's work stream
before answering; the fetcher (a durable consumer of that stream) reads Graph and publishes
`received`, `sent`, `changed` and `deleted`; the replica holding the lease keeps the subscriptions
alive and runs delta, so that mail is not lost when notifications are. It also answers the one
command whose state it owns, a person's opt-in or opt-out (`personal/decide.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass
from typing import Annotated

from faststream.nats.annotations import NatsMessage
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schemas.commands import CommandReply, PersonalDecideRequest, Verb
from schemas.events import (
    Alert,
    MailChanged,
    MailDeleted,
    MailSent,
    utc_now,
)
from schemas.examples import EXAMPLES
from services.common.app import ServiceApp
from services.common.commanding import (
    answer_verified,
    command_gate,
    command_router,
    command_subscriber,
)
from services.common.forged import FORGED_MARKER_CHANNEL
from services.common.graph import graph_client_for
from services.common.isolation import Isolation
from services.common.jetstream import INGEST_BUCKET, WRITEBACKS_BUCKET
from services.common.mimelimits import MimeParseLimits
from services.common.orgconfig import Organisation
from services.common.publisher import Channel
from services.common.received import RECEIVED_CHANNEL
from services.common.seal import signing_keys
from services.common.settings import Settings
from services.common.writeback import WritebackLog
from services.ingest.clash import IDENTITY_CLASH_CHANNEL
from services.ingest.config import IngestSettings
from services.ingest.directory import SubscriptionDirectory
from services.ingest.fetcher import Fetcher
from services.ingest.gateway import GraphGateway, MailboxGate
from services.ingest.links import GRAPH_LINK_CHANNEL, refused_link_alert
from services.ingest.personal.decide import PersonalDecisions
from services.ingest.personal.mailroom import Mailroom
from services.ingest.personal.state import PersonalState
from services.ingest.personal.watcher import PERSONAL_PATH, PersonalWatcher
from services.ingest.queue import WorkQueue
from services.ingest.rich import RichNotifications
from services.ingest.spool import SpoolLimits
from services.ingest.state import IngestState
from services.ingest.upkeep import (
    DeltaCatchUp,
    Endpoints,
    Lease,
    SubscriptionKeeper,
    Upkeep,
    report_subscriptions,
)
from services.ingest.webhook import LIFECYCLE_PATH, NOTIFICATIONS_PATH, BodyBudget, Webhook
from services.ingest.work import (
    WORK_EXAMPLES,
    LifecycleWork,
    MessageWork,
    fetcher_spec,
    work_stream_config,
)


@dataclass
class Running:
    """What exists only while the service is connected."""

    state: IngestState
    directory: SubscriptionDirectory
    webhook: Webhook
    fetcher: Fetcher
    upkeep: Upkeep
    personal: PersonalWatcher
    tasks: tuple[asyncio.Task[None], ...]
    decisions: PersonalDecisions


def public_url(settings: Settings, ingest: IngestSettings) -> str:
    base = ingest.public_url or f"http://{settings.http_host}:{settings.port_for('ingest')}"
    return base.rstrip("/")


PUBLISHES = (
    RECEIVED_CHANNEL,
    Channel("sakspost.mail.changed.{department}", MailChanged, "Flag or categories changed"),
    Channel("sakspost.mail.deleted.{department}", MailDeleted, "A mail left Sakspost (R13)"),
    Channel(
        "sakspost.mail.sent.{department}",
        MailSent,
        "A shared mailbox sent a mail; Sakspost's own mail is left out (R14, R2, R3)",
    ),
    FORGED_MARKER_CHANNEL,
    IDENTITY_CLASH_CHANNEL,
    GRAPH_LINK_CHANNEL,
    Channel(
        "sakspost.alert.subscription_failed.{department}",
        Alert,
        "A shared mailbox's Graph subscription failed for subscription_alert_after_seconds",
    ),
)
# What the webhook and delta store in ingest's work stream for the fetchers.
Work = Annotated[MessageWork | LifecycleWork, Field(discriminator="type")]


def build(
    settings: Settings, org: Organisation, ingest: IngestSettings | None = None
) -> ServiceApp:
    config = ingest or IngestSettings()
    service = ServiceApp(
        "ingest",
        "Graph notifications, subscriptions and delta become mail events",
        settings,
        org,
        publishes=PUBLISHES,
        # The work stream is provisioned with the common layout, before the fetchers' consumers.
        streams=(work_stream_config(settings),),
        examples={**EXAMPLES, **WORK_EXAMPLES},
    )
    holder: dict[str, Running] = {}
    workers = service.workers()
    _answer_personal_decisions(service, holder)

    @service.on_startup
    async def start() -> None:
        # The personal opt-in command is answered for verified owners only: without Sakspost's
        # own app registration ingest does not start (SettingsError names the missing variables).
        gate = command_gate(settings, org)
        keys = signing_keys(settings)
        rich = RichNotifications.from_settings(settings, config)
        state = IngestState(await service.key_value(INGEST_BUCKET))
        graph = graph_client_for(settings, retries=False)

        async def refused_link(mailbox: str) -> None:
            await service.publisher.publish(refused_link_alert(org, mailbox, utc_now()))

        gateway = GraphGateway(graph, MailboxGate(config.mailbox_concurrency), refused_link)
        directory = SubscriptionDirectory(state)
        await directory.refresh()
        # Lifecycle events are deduplicated per delta interval (the duplicate window is longer).
        queue = WorkQueue(
            service.broker, config.publish_timeout_seconds, settings.delta_interval_seconds
        )
        # One budget for every webhook path: they share the pod's memory.
        budget = BodyBudget(config.max_bodies_in_flight_bytes)
        base = public_url(settings, config)
        keeper = SubscriptionKeeper(
            gateway,
            state,
            directory,
            config,
            Endpoints(base + NOTIFICATIONS_PATH, base + LIFECYCLE_PATH),
            rich.current if rich is not None else None,
        )
        catch_up = DeltaCatchUp(gateway, state, queue, config, settings.delta_interval_seconds)
        lease = Lease(state.kv, f"{socket.gethostname()}:{os.getpid()}", config.lease_seconds)
        upkeep = Upkeep(
            org,
            config,
            lease,
            keeper,
            catch_up,
            Isolation("ingest upkeep", org.common_department, service.publisher.publish),
            service.publisher.publish,
        )
        fetcher = Fetcher(
            org,
            state,
            gateway,
            service.publisher,
            service.jetstream(),
            keeper,
            catch_up,
            WritebackLog(await service.key_value(WRITEBACKS_BUCKET)),
            keys,
            SpoolLimits.from_settings(config, MimeParseLimits.from_settings(settings)),
            workers,
            settings.mail_limits(),
        )
        personal_state = PersonalState(state.kv)
        personal = PersonalWatcher(
            org,
            config,
            personal_state,
            gateway,
            Mailroom(
                org, gateway, state, personal_state, config, keys, workers, settings.mail_limits()
            ),
            base + PERSONAL_PATH,
            settings.delta_interval_seconds,
            budget,
            Isolation("personal watch", org.common_department, service.publisher.publish),
        )
        tasks = (
            asyncio.create_task(upkeep.run(), name="ingest-upkeep"),
            # Personal mailboxes are watched by the lease holder only: one forward per mail.
            asyncio.create_task(personal.run(lambda: upkeep.holding), name="ingest-personal"),
        )
        holder["running"] = Running(
            state,
            directory,
            Webhook(config, directory, queue, budget, rich),
            fetcher,
            upkeep,
            personal,
            tasks,
            PersonalDecisions(personal_state, gate, utc_now),
        )

    @service.on_shutdown
    async def stop() -> None:
        running = holder.pop("running", None)
        if running is None:
            return
        for task in running.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):  # NATS may be gone already; the lease then expires
            await running.upkeep.lease.release()

    async def receive(request: Request) -> Response:
        running = holder.get("running")
        if running is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        return await running.webhook.receive(request)

    async def receive_personal(request: Request) -> Response:
        running = holder.get("running")
        if running is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        return await running.personal.receive(request)

    # Graph's webhooks are Starlette routes, each served at its exact path.
    service.mount(PERSONAL_PATH, Route(PERSONAL_PATH, receive_personal, methods=["POST"]))
    service.mount(NOTIFICATIONS_PATH, Route(NOTIFICATIONS_PATH, receive, methods=["POST"]))
    service.mount(LIFECYCLE_PATH, Route(LIFECYCLE_PATH, receive, methods=["POST"]))

    async def watching() -> str | None:
        running = holder.get("running")
        if running is None:
            return "starting"
        missing = running.directory.unwatched(list(org.departments), utc_now())
        return f"subscriptions: {len(missing)} mailboxes not watched" if missing else None

    @service.on_scrape
    async def subscription_metrics() -> None:
        running = holder.get("running")
        if running is not None:
            records = (await running.state.subscriptions()).subscriptions
            report_subscriptions(org.departments, records, utc_now())

    # Pending, not a readiness problem: Graph validates a new subscription by calling the webhook
    # through the Service, which sends traffic to ready pods only (/statusz fails on it).
    service.pending_checks.append(watching)

    async def on_work(work: Work) -> None:
        running = holder["running"]
        if isinstance(work, MessageWork):
            await running.fetcher.on_message(work)
        else:
            await running.fetcher.on_lifecycle(work)

    # One fetcher per department, so that one throttled mailbox delays only its own mail.
    for department in org.departments:
        service.consumer(fetcher_spec(department))(on_work)

    return service


def _answer_personal_decisions(service: ServiceApp, holder: dict[str, Running]) -> None:
    """Answer `sakspost.cmd.personal_decide` (the owner's own mailbox, R15)."""
    commands = command_router(utc_now)

    @command_subscriber(commands, Verb.PERSONAL_DECIDE)
    async def personal_decide(request: PersonalDecideRequest, message: NatsMessage) -> CommandReply:
        running = holder.get("running")
        ready = (running.decisions.gate, running.decisions) if running is not None else None
        return await answer_verified(
            "ingest",
            Verb.PERSONAL_DECIDE,
            message.headers,
            None,
            ready,
            lambda decisions, actor: decisions.decide(request, actor),
            utc_now,
        )

    service.broker.include_router(commands)
