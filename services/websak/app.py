"""The websak service: every arkivverdig `routed` mail becomes exactly one journalpost (R9a).

Consumes `sakspost.mail.routed.*`; publishes `sakspost.mail.archived.<department>` (the router then
sets the case Ferdig, R12) and `sakspost.alert.archive_failed.<department>` (R10). `build` never
connects: the archive connection and the placement file are read when the service starts, so a bad
configuration stops it at once with a message that names the variable or field to fix.

It also remembers what a shared mailbox sent (`sakspost.mail.sent.*`, with the classifier's
`sensitive_outgoing` alerts), so that a reply sent from Sakspost can be filed as an outgoing
journalpost by command (R14). It answers the archive's two commands, `retry_archive` and
`archive_reply` (`commands.py`), for verified people and operators only.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any

from faststream.nats.annotations import NatsMessage
from nats.js import JetStreamContext
from pydantic import Field

from schemas.commands import (
    ArchiveReply,
    ArchiveReplyRequest,
    ArchiveRetryRequest,
    CommandReply,
    Verb,
)
from schemas.events import Alert, Event, MailArchived, MailRouted, MailSent, utc_now
from schemas.subjects import PREFIX, mail_event_filter
from schemas.vocab import AlertKind
from services.common.actors import Actor
from services.common.app import ServiceApp
from services.common.clock import Clock
from services.common.commanding import (
    Gate,
    answer_verified,
    command_gate,
    command_router,
    command_subscriber,
)
from services.common.jetstream import RECEIPTS_BUCKET, ConsumerSpec
from services.common.metrics import ARCHIVE_OLDEST_PENDING_SECONDS, export
from services.common.mimelimits import MimeParseLimits, read_whole
from services.common.mimestore import MimeStore
from services.common.orgconfig import Organisation
from services.common.publisher import Channel
from services.common.seal import signing_keys
from services.common.settings import Settings
from services.common.workers import WorkerPool
from services.websak.acos import AcosWebSakArchive
from services.websak.archiving import Archiver
from services.websak.commands import ArchiveCommands
from services.websak.config import (
    ArchivingOptions,
    MarkerKey,
    WebSakConnection,
    load_marker_key,
    load_placement,
    load_settings_model,
)
from services.websak.pending import PendingArchive
from services.websak.receipts import OutgoingMail, ReceiptStore

ROUTED = ConsumerSpec(
    "websak",
    (mail_event_filter("routed"),),
    description="Archive every arkivverdig mail in WebSak, exactly once (R9a)",
)
ALERT_PREFIX = f"{PREFIX}.alert"
OUTGOING = ConsumerSpec(
    "websak-outgoing",
    (mail_event_filter("sent"), f"{ALERT_PREFIX}.{AlertKind.SENSITIVE_OUTGOING.value}.*"),
    description="Remember sent mail (and whether it is sensitive) for archive-outgoing (R14, R3)",
)


@dataclass
class Wiring:
    """Where the service's settings come from; tests pass them instead of the environment."""

    connection: WebSakConnection | None = None
    options: ArchivingOptions | None = None
    marker_key: MarkerKey | None = None
    clock: Clock = utc_now


def rendering_workers(settings: Settings, options: ArchivingOptions, name: str) -> WorkerPool:
    """websak's worker pool: `options.workers` processes (one per CPU by default, rendering is
    CPU-bound), each task under the common CPU-time and memory limits (`SAKSPOST_WORKER_*`)."""
    return WorkerPool(replace(settings.worker_limits(), workers=options.workers), name)


async def open_archiver(
    js: JetStreamContext,
    publish: Callable[[Event], Awaitable[Any]],
    settings: Settings,
    org: Organisation,
    wiring: Wiring,
    workers: WorkerPool,
) -> tuple[Archiver, AcosWebSakArchive]:
    """The archiver on the configured WebSak; the caller closes the adapter when done."""
    options = wiring.options or load_settings_model(ArchivingOptions)
    connection = wiring.connection or load_settings_model(WebSakConnection)
    marker_key = wiring.marker_key or load_marker_key(settings)
    placement = load_placement(options.config)
    placement.check_covers(org)
    archive = AcosWebSakArchive.from_connection(connection, system=placement.archive_system)
    archiver = Archiver(
        archive=archive,
        placement=placement,
        receipts=ReceiptStore(await js.key_value(RECEIPTS_BUCKET)),
        mime=functools.partial(
            read_whole, MimeStore(js), limits=MimeParseLimits.from_settings(settings)
        ),
        publish=publish,
        org=org,
        keys=signing_keys(settings),
        alert_after=timedelta(seconds=options.alert_after_seconds),
        marker_key=marker_key.key,
        options=options,
        workers=workers,
        # Longer than the longest retry delay plus the ack wait: by then the mail's `routed`
        # event has been tried again, here or by another replica.
        pending=PendingArchive(
            timedelta(seconds=2 * settings.retry_max_seconds + settings.ack_wait_seconds)
        ),
        clock=wiring.clock,
    )
    return archiver, archive


class _Running:
    archiver: Archiver | None = None
    archive: AcosWebSakArchive | None = None
    commands: ArchiveCommands | None = None
    gate: Gate | None = None

    def current(self) -> Archiver:
        if self.archiver is None:
            raise RuntimeError("the websak service has not started")
        return self.archiver


PUBLISHES = (
    Channel(
        "sakspost.mail.archived.{department}",
        MailArchived,
        "One per archived mail, with its journalpost and documents (the router sets Ferdig)",
    ),
    Channel(
        "sakspost.alert.archive_failed.{department}",
        Alert,
        "A refusal by the archive (at once) or a mail overdue for archiving (once), R10",
    ),
)
# `sent` mail and the classifier's verdict on it, as one consumer so that both arrive in order.
OutgoingFact = Annotated[MailSent | Alert, Field(discriminator="type")]


def build(settings: Settings, org: Organisation, wiring: Wiring | None = None) -> ServiceApp:
    service = ServiceApp(
        "websak",
        "Registers every arkivverdig mail in WebSak as one incoming journalpost: the mail as "
        "PDF/A-2b, the original .eml and every attachment, the sender as contact (R9a).",
        settings,
        org,
        publishes=PUBLISHES,
    )
    running = _Running()
    options = wiring.options if wiring and wiring.options else load_settings_model(ArchivingOptions)
    wiring = replace(wiring or Wiring(), options=options)
    workers = rendering_workers(settings, options, "sakspost-websak-worker")
    service.on_shutdown(workers.close)

    @service.on_startup
    async def start() -> None:
        # The archive's commands are answered for verified actors only: without Sakspost's own
        # app registration websak does not start (SettingsError names the missing variables).
        gate = command_gate(settings, org)
        running.archiver, running.archive = await open_archiver(
            service.jetstream(),
            service.publisher.publish,
            settings,
            org,
            wiring,
            workers,
        )
        running.commands = ArchiveCommands(running.archiver, gate)
        running.gate = gate

    _answer_commands(service, running, wiring.clock)

    @service.on_shutdown
    async def stop() -> None:
        if running.archive is not None:
            await running.archive.aclose()

    export(ARCHIVE_OLDEST_PENDING_SECONDS)

    @service.on_scrape
    async def pending_metric() -> None:
        if running.archiver is not None:
            archiver = running.archiver
            ARCHIVE_OLDEST_PENDING_SECONDS.set(archiver.pending.oldest_seconds(archiver.clock()))

    # As many mails at once as there are workers to render them.
    @service.consumer(ROUTED, concurrency=options.workers)
    async def on_routed(event: MailRouted) -> None:
        await running.current().on_routed(event)

    @service.consumer(OUTGOING)
    async def on_outgoing(event: OutgoingFact) -> None:
        receipts = running.current().receipts
        if isinstance(event, MailSent):
            await receipts.remember_outgoing(OutgoingMail.from_sent(event))
        else:
            for case_id in event.case_ids:
                await receipts.mark_sensitive_outgoing(case_id)

    return service


def _answer_commands(service: ServiceApp, running: _Running, clock: Clock) -> None:
    """Answer `sakspost.cmd.retry_archive` and `sakspost.cmd.archive_reply`."""
    router = command_router(clock)

    async def run(
        verb: Verb,
        message: NatsMessage,
        case_id: str,
        work: Callable[[ArchiveCommands, Actor], Awaitable[ArchiveReply]],
    ) -> CommandReply:
        gate, commands = running.gate, running.commands
        ready = (gate, commands) if gate is not None and commands is not None else None
        return await answer_verified("websak", verb, message.headers, case_id, ready, work, clock)

    @command_subscriber(router, Verb.RETRY_ARCHIVE)
    async def retry_archive(request: ArchiveRetryRequest, message: NatsMessage) -> CommandReply:
        return await run(
            Verb.RETRY_ARCHIVE, message, request.case_id, lambda c, a: c.retry(request, a)
        )

    @command_subscriber(router, Verb.ARCHIVE_REPLY)
    async def archive_reply(request: ArchiveReplyRequest, message: NatsMessage) -> CommandReply:
        return await run(
            Verb.ARCHIVE_REPLY, message, request.case_id, lambda c, a: c.reply(request, a)
        )

    service.broker.include_router(router)
