"""The ingest service: Graph webhook, fetcher, subscription upkeep and delta catch-up (R4, R13).

Mail enters Sakspost only here. The webhook stores accepted notifications in ingest's work stream
before answering; the fetcher (a durable consumer of that stream) reads Graph and publishes
`received`, `sent`, `changed` and `deleted`; the replica holding the lease keeps the subscriptions
alive and runs delta, so that mail is not lost when notifications are.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schemas.events import (
    ContractModel,
    MailChanged,
    MailDeleted,
    MailReceived,
    MailSent,
    utc_now,
)
from services.common.graph import graph_client_for
from services.common.jetstream import INGEST_BUCKET
from services.common.orgconfig import Organisation
from services.common.service import Published, Service, ServiceContext
from services.common.settings import Settings
from services.ingest.config import IngestSettings
from services.ingest.directory import SubscriptionDirectory
from services.ingest.fetcher import Fetcher
from services.ingest.gateway import GraphGateway, MailboxGate
from services.ingest.personal.mailroom import Mailroom
from services.ingest.personal.state import PersonalState
from services.ingest.personal.watcher import PERSONAL_PATH, PersonalWatcher
from services.ingest.queue import WorkQueue
from services.ingest.state import IngestState
from services.ingest.upkeep import DeltaCatchUp, Endpoints, Lease, SubscriptionKeeper, Upkeep
from services.ingest.webhook import LIFECYCLE_PATH, NOTIFICATIONS_PATH, Webhook
from services.ingest.work import LifecycleWork, MessageWork, fetcher_spec, work_stream_config


@dataclass
class Running:
    """What exists only while the service is connected."""

    directory: SubscriptionDirectory
    webhook: Webhook
    fetcher: Fetcher
    upkeep: Upkeep
    personal: PersonalWatcher
    tasks: tuple[asyncio.Task[None], ...]


def public_url(settings: Settings, ingest: IngestSettings) -> str:
    base = ingest.public_url or f"http://{settings.http_host}:{settings.port_for('ingest')}"
    return base.rstrip("/")


def build(settings: Settings, org: Organisation, ingest: IngestSettings | None = None) -> Service:
    config = ingest or IngestSettings()
    service = Service(
        "ingest", "Graph notifications, subscriptions and delta become mail events", settings, org
    )
    # The work stream is provisioned with the common layout, before the fetchers' consumers.
    service.streams.append(work_stream_config(settings))
    service.publishes += [
        Published("sakspost.mail.received.{department}", MailReceived, "A mail reached Sakspost"),
        Published("sakspost.mail.changed.{department}", MailChanged, "Flag or categories changed"),
        Published("sakspost.mail.deleted.{department}", MailDeleted, "A mail left Sakspost (R13)"),
        Published(
            "sakspost.mail.sent.{department}",
            MailSent,
            "A shared mailbox sent a mail; Sakspost's own mail is left out (R14, R2, R3)",
        ),
    ]
    holder: dict[str, Running] = {}

    async def start(context: ServiceContext) -> None:
        state = IngestState(await context.key_value(INGEST_BUCKET))
        graph = graph_client_for(settings, retries=False)
        gateway = GraphGateway(graph, MailboxGate(config.mailbox_concurrency))
        directory = SubscriptionDirectory(state)
        await directory.refresh()
        queue = WorkQueue(context.broker, config.publish_timeout_seconds)
        base = public_url(settings, config)
        keeper = SubscriptionKeeper(
            gateway,
            state,
            directory,
            config,
            Endpoints(base + NOTIFICATIONS_PATH, base + LIFECYCLE_PATH),
        )
        catch_up = DeltaCatchUp(gateway, state, queue, config, settings.delta_interval_seconds)
        lease = Lease(state.kv, f"{socket.gethostname()}:{os.getpid()}", config.lease_seconds)
        upkeep = Upkeep(org, config, lease, keeper, catch_up)
        fetcher = Fetcher(
            org, state, gateway, context.publisher, context.jetstream(), keeper, catch_up
        )
        personal = PersonalWatcher(
            org,
            config,
            PersonalState(state.kv),
            gateway,
            Mailroom(org, gateway, state),
            base + PERSONAL_PATH,
            settings.delta_interval_seconds,
        )
        tasks = (
            asyncio.create_task(upkeep.run(), name="ingest-upkeep"),
            # Personal mailboxes are watched by the lease holder only: one forward per mail.
            asyncio.create_task(personal.run(lambda: upkeep.holding), name="ingest-personal"),
        )
        holder["running"] = Running(
            directory, Webhook(config, directory, queue), fetcher, upkeep, personal, tasks
        )

    async def stop(_context: ServiceContext) -> None:
        running = holder.pop("running", None)
        if running is None:
            return
        for task in running.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):  # NATS may be gone already; the lease then expires
            await running.upkeep.lease.release()

    service.on_startup.append(start)
    service.on_shutdown.append(stop)

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

    service.routes += [
        Route(PERSONAL_PATH, receive_personal, methods=["POST"]),
        Route(NOTIFICATIONS_PATH, receive, methods=["POST"]),
        Route(LIFECYCLE_PATH, receive, methods=["POST"]),
    ]

    async def watching() -> str | None:
        running = holder.get("running")
        if running is None:
            return "starting"
        missing = running.directory.unwatched(list(org.departments), utc_now())
        return f"subscriptions: {len(missing)} mailboxes not watched" if missing else None

    service.readiness_checks.append(watching)

    async def on_work(work: ContractModel, _context: ServiceContext) -> None:
        running = holder["running"]
        if isinstance(work, MessageWork):
            await running.fetcher.on_message(work)
        elif isinstance(work, LifecycleWork):
            await running.fetcher.on_lifecycle(work)

    for department in org.departments:
        service.consume(fetcher_spec(department), MessageWork, LifecycleWork)(on_work)

    return service
