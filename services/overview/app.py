"""The overview service: wiring of the read model, the feed, sign-in and the web routes.

A FastStream service like the others (`/healthz`, `/readyz`, start records, graceful stop) that
consumes no durable consumer: it watches the cases bucket and reads alerts through ephemeral
ordered consumers (`feed.py`), keeps sessions in its own bucket, publishes the audit of sensitive
cases' viewing, and serves its pages for every other path (`web.py`). It is ready once every case
record present at start has been read.
"""

from __future__ import annotations

from schemas.events import CaseViewed
from services.common.app import ServiceApp
from services.common.bearer import BearerVerifier
from services.common.clock import Clock, system_clock
from services.common.failures import MemoryFailureCounter
from services.common.jetstream import CASES_BUCKET, INGEST_BUCKET, BucketSpec
from services.common.orgconfig import Organisation
from services.common.permissions import OVERVIEW_BUCKET
from services.common.publisher import Channel
from services.common.settings import Settings, SettingsError
from services.overview.feed import Broadcast, Feed, alert_start
from services.overview.login import CALLBACK_PATH, SignIn
from services.overview.readmodel import ReadModel
from services.overview.sessions import SESSION_SECONDS, CookiePolicy, SessionStore
from services.overview.settings import OverviewSettings
from services.overview.web import Overview, web_app

CASE_VIEWED_CHANNEL = Channel(
    "sakspost.audit.case_viewed.{department}",
    CaseViewed,
    "Who opened a sensitive case's page, and when (never deleted)",
)
SESSIONS = BucketSpec(
    OVERVIEW_BUCKET,
    ttl_seconds=SESSION_SECONDS,
    description="The overview's sessions and sign-ins under way; overview writes",
)


def build(
    settings: Settings,
    org: Organisation,
    overview_settings: OverviewSettings | None = None,
    clock: Clock = system_clock,
) -> ServiceApp:
    own = overview_settings or OverviewSettings()
    service = ServiceApp(
        "overview",
        "The supervisors' overview: each department's cases, live, and their actions as commands",
        settings,
        org,
        publishes=(CASE_VIEWED_CHANNEL,),
        buckets=(SESSIONS,),
        # No durable consumer, so no attempts to count in KV (and no grant to that bucket).
        failures=MemoryFailureCounter(),
    )
    base_url = own.base_url(settings.port_for("overview"))
    model = ReadModel(org)
    broadcast = Broadcast()
    feed = Feed(model, broadcast)
    overview = Overview(
        org=org,
        model=model,
        broadcast=broadcast,
        cookies=CookiePolicy.for_url(base_url),
        clock=clock,
        publish=service.publisher.publish,
        end_session_return=f"{base_url}/",
    )

    @service.on_startup
    async def connect() -> None:
        # Checked here, not in `build`: provisioning and the AsyncAPI export build every service
        # offline, without the sign-in's settings.
        auth = settings.auth()
        if own.client_secret is None:
            raise SettingsError(
                "the overview cannot sign anyone in, unset: SAKSPOST_OVERVIEW_CLIENT_SECRET "
                "(fix: set it to a client secret of Sakspost's app registration)"
            )
        overview.signin = SignIn(auth, own.client_secret, base_url + CALLBACK_PATH)
        overview.verifier = BearerVerifier.from_settings(auth, org)
        overview.store = SessionStore(await service.key_value(OVERVIEW_BUCKET))
        overview.personal = await service.key_value(INGEST_BUCKET)
        overview.nats = service.broker.config.connection_state.connection
        js = service.jetstream()
        await feed.start(
            await service.key_value(CASES_BUCKET), js, alert_start(clock(), own.recent_alert_days)
        )

    service.on_shutdown(feed.stop)

    async def cases_loaded() -> str | None:
        return None if feed.loaded.is_set() else "cases not read yet"

    service.readiness_checks.append(cases_loaded)
    service.fallback(web_app(overview))
    return service
