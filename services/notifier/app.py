"""The notifier service: "Varsle" the assignee (R11), alerts to the supervisors (R10), the daily
digest, through e-mail, Teams and a signed webhook; each delivered notice audited on
`sakspost.notice.sent.<department>`."""

from __future__ import annotations

from schemas.events import Alert, MailArchived, MailCompleted, MailRouted, NoticeSent, utc_now
from schemas.subjects import ALERT_ALL, mail_event_filter
from services.common.app import ServiceApp
from services.common.clock import Clock
from services.common.jetstream import DEAD_LETTER_STREAM, NOTICES_BUCKET, ConsumerSpec
from services.common.metrics import DEAD_LETTERS, export
from services.common.orgconfig import Organisation
from services.common.publisher import Channel
from services.common.settings import Settings
from services.common.starts import STARTS_BUCKET
from services.notifier.config import NotifierConfig, NotifierSecrets, load_notifier_config
from services.notifier.runtime import Notifier

ROUTED = ConsumerSpec(
    "notifier-routed", (mail_event_filter("routed"),), description="Tell each assignee (R11)"
)
COMPLETED = ConsumerSpec(
    "notifier-completed", (mail_event_filter("completed"),), description="Digest: closed cases"
)
ARCHIVED = ConsumerSpec(
    "notifier-archived", (mail_event_filter("archived"),), description="Digest: archived cases"
)
ALERTS = ConsumerSpec("notifier-alerts", (ALERT_ALL,), description="Tell the supervisors (R10)")
PUBLISHES = (
    Channel("sakspost.notice.sent.{department}", NoticeSent, "Each delivered notice (R11)"),
    Channel("sakspost.alert.notice_undeliverable.{department}", Alert, "A channel failed"),
    Channel(
        "sakspost.alert.service_restarting.{department}",
        Alert,
        "An instance started too often within the restart window (for operations)",
    ),
)


def build(settings: Settings, org: Organisation) -> ServiceApp:
    return build_notifier(settings, org)[0]


def build_notifier(
    settings: Settings,
    org: Organisation,
    *,
    config: NotifierConfig | None = None,
    secrets: NotifierSecrets | None = None,
    clock: Clock = utc_now,
) -> tuple[ServiceApp, Notifier]:
    """The service and its notifier (tests drive the digest and the clock through it)."""
    secrets = secrets or NotifierSecrets()
    config = config or load_notifier_config(secrets.config, org)
    notifier = Notifier(org, config, secrets, clock)
    service = ServiceApp(
        "notifier",
        "Notifies assignees and supervisors by e-mail, Teams or a signed webhook, never twice, "
        "and audits every notice delivered.",
        settings,
        org,
        publishes=PUBLISHES,
    )

    @service.on_startup
    async def start() -> None:
        await notifier.start(
            settings,
            await service.key_value(NOTICES_BUCKET),
            await service.key_value(STARTS_BUCKET),
            service.publisher,
        )

    service.on_shutdown(notifier.stop)

    export(DEAD_LETTERS)

    @service.on_scrape
    async def dead_letters() -> None:
        # The notifier tells supervisors of each dead letter; operations see the pile here.
        info = await service.jetstream().stream_info(DEAD_LETTER_STREAM)
        DEAD_LETTERS.set(info.state.messages)

    @service.consumer(ROUTED)
    async def on_routed(event: MailRouted) -> None:
        await notifier.on_routed(event)

    @service.consumer(COMPLETED)
    async def on_completed(event: MailCompleted) -> None:
        await notifier.on_completed(event)

    @service.consumer(ARCHIVED)
    async def on_archived(event: MailArchived) -> None:
        await notifier.on_archived(event)

    @service.consumer(ALERTS)
    async def on_alert(event: Alert) -> None:
        await notifier.on_alert(event)

    return service, notifier
