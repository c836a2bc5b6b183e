"""The classifier service: every `received` mail becomes one `classified` event (R9, R2, R3).

It also judges every `sent` mail of a shared mailbox (`outgoing.py`): it owns both things that
takes, the thread memory (is the conversation archival? R14) and the sensitive detectors (R2, R3),
and raises `reply_not_from_websak` and `sensitive_outgoing` to the department's supervisors.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from faststream import Context
from pydantic import Field

from schemas.events import Alert, MailClassified, MailReceived, MailRouted, MailSent, utc_now
from schemas.subjects import mail_event_filter
from services.classifier.corrections import CORRECTIONS, CORRECTIONS_BUCKET, CorrectionStore
from services.classifier.received import default_classifier, quarantined_event
from services.classifier.threads import THREADS, THREADS_BUCKET, ThreadMemory
from services.classifier.worktasks import Shared, check_sent_task, classify_task
from services.common.app import ServiceApp
from services.common.forged import FORGED_MARKER_CHANNEL
from services.common.jetstream import ConsumerSpec
from services.common.mimelimits import MimeParseLimits, read_for_parse
from services.common.mimestore import MimeStore
from services.common.orgconfig import Organisation
from services.common.publisher import Channel
from services.common.quarantine import quarantine_alert, reason_for, reason_in
from services.common.resources import Publisher
from services.common.seal import signing_keys
from services.common.settings import Settings
from services.common.workers import OverLimit

RECEIVED = ConsumerSpec(
    "classifier", (mail_event_filter("received"),), description="Classify every received mail"
)
SENT = ConsumerSpec(
    "classifier-sent",
    (mail_event_filter("sent"),),
    description="Check every mail a shared mailbox sent (R14, R2, R3)",
)
CORRECTED = ConsumerSpec(
    "classifier-corrections",
    (mail_event_filter("classified"), mail_event_filter("routed")),
    description="Record the classes and departments people correct, for --learn (R17)",
)
# The classifier's own verdicts (the old value) and the router's, whose human corrections count.
Judged = Annotated[MailClassified | MailRouted, Field(discriminator="type")]
PUBLISHES = (
    Channel("sakspost.mail.classified.{department}", MailClassified, "One per received mail"),
    Channel(
        "sakspost.alert.reply_not_from_websak.{department}",
        Alert,
        "A reply in an archival conversation sent from Sakspost, not WebSak (R14)",
    ),
    Channel(
        "sakspost.alert.sensitive_outgoing.{department}",
        Alert,
        "A shared mailbox sent sensitive content or a confidentiality marking (R2, R3)",
    ),
    Channel(
        "sakspost.alert.quarantined.{department}",
        Alert,
        "A mail over a limit of what one mail may cost to read, or unreadable: a case for a "
        "person, treated as possibly sensitive (issue #16)",
    ),
    FORGED_MARKER_CHANNEL,
)

log = structlog.get_logger(__name__)

Mime = Annotated[MimeStore, Context("mime")]
Threads = Annotated[ThreadMemory, Context("threads")]
Corrections = Annotated[CorrectionStore, Context("corrections")]


def build(settings: Settings, org: Organisation) -> ServiceApp:
    service = ServiceApp(
        "classifier",
        "Classifies every received mail as arkivverdig, offisiell or privat, with its sensitive "
        "content, topics and suggested department.",
        settings,
        org,
        publishes=PUBLISHES,
        buckets=(THREADS, CORRECTIONS),
    )
    engine = default_classifier()
    # Every mail is parsed and classified in a worker process, never on the event loop; the
    # workers start with the classifier built (`preload.py`).
    workers = service.workers(preload=("services.classifier.preload",))
    mail_limits = settings.mail_limits()
    # A mail over the parse cap is judged by its header block (its MIME stays whole in the store).
    read_limits = MimeParseLimits.from_settings(settings)

    @service.on_startup
    async def open_stores() -> None:
        # Sent once to each worker, not with every mail.
        workers.share(Shared(org, signing_keys(settings), mail_limits))
        # Started now, not with the first mail: every classifier replica gets mail, and the
        # first mails of a burst waited a second or more for the workers to start (the bench's
        # classify stage p95).
        workers.start()
        service.put("mime", MimeStore(service.jetstream()))
        service.put("threads", ThreadMemory(await service.key_value(THREADS_BUCKET)))
        service.put("corrections", CorrectionStore(await service.key_value(CORRECTIONS_BUCKET)))

    # As many mails in flight as there are workers: a hostile mail at its CPU limit holds one
    # worker while the others classify the ordinary mail behind it.
    @service.consumer(RECEIVED, concurrency=settings.workers)
    async def on_received(
        event: MailReceived, mime: Mime, threads: Threads, publisher: Publisher
    ) -> None:
        thread_class = await threads.class_of(event.conversation_id)
        if event.quarantine is not None:
            # Ingest could not read it within the limits: it is not read again here.
            classified = quarantined_event(event, engine, event.quarantine)
        else:
            raw = await read_for_parse(mime, event.mime_sha256, event.mime_size, read_limits)
            outcome = await workers.run(classify_task, event, raw, thread_class)
            classified = (
                quarantined_event(event, engine, reason_for(outcome))
                if isinstance(outcome, OverLimit)
                else outcome
            )
        await publisher.publish(classified)
        reason = reason_in(classified.reasons)
        if reason is not None:
            await publisher.publish(
                quarantine_alert(event.case_id, event.department, reason, utc_now())
            )
            log.warning("quarantined", case_id=event.case_id, reason=reason.value)
        await threads.remember(event.conversation_id, classified.mail_class)

    @service.consumer(SENT)
    async def on_sent(event: MailSent, mime: Mime, threads: Threads, publisher: Publisher) -> None:
        raw = await read_for_parse(mime, event.mime_sha256, event.mime_size, read_limits)
        thread_class = await threads.class_of(event.conversation_id)
        alerts = await workers.run(check_sent_task, event, raw, thread_class, utc_now())
        if isinstance(alerts, OverLimit):
            # Sent mail is not a case: what cannot be read within the limits is not checked.
            log.warning("sent mail over a limit, not checked", case_id=event.case_id)
            return
        for alert in alerts:
            await publisher.publish(alert)

    @service.consumer(CORRECTED)
    async def on_judged(event: Judged, corrections: Corrections) -> None:
        correction = await corrections.observe(event)
        if correction is not None:
            # The case and the field only: a correction never carries the mail's content.
            log.info("correction recorded", case_id=correction.case_id, field=correction.field)

    return service
