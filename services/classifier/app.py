"""The classifier service: every `received` mail becomes one `classified` event (R9, R2, R3)."""

from __future__ import annotations

from schemas.events import MailClassified, MailReceived
from schemas.subjects import mail_event_filter
from services.classifier.received import classify_received, default_classifier
from services.classifier.threads import THREADS, THREADS_BUCKET, ThreadMemory
from services.common.jetstream import ConsumerSpec
from services.common.mimestore import MimeStore
from services.common.orgconfig import Organisation
from services.common.service import Published, Service, ServiceContext
from services.common.settings import Settings

RECEIVED = ConsumerSpec(
    "classifier", (mail_event_filter("received"),), description="Classify every received mail"
)


def build(settings: Settings, org: Organisation) -> Service:
    service = Service(
        "classifier",
        "Classifies every received mail as arkivverdig, offisiell or privat, with its sensitive "
        "content, topics and suggested department.",
        settings,
        org,
    )
    service.buckets.append(THREADS)
    service.publishes.append(
        Published("sakspost.mail.classified.{department}", MailClassified, "One per received mail")
    )
    engine = default_classifier()

    @service.consume(RECEIVED, MailReceived)
    async def on_received(event: MailReceived, context: ServiceContext) -> None:
        mime = await MimeStore(context.jetstream()).get(event.mime_sha256)
        threads = ThreadMemory(await context.key_value(THREADS_BUCKET))
        thread_class = await threads.class_of(event.conversation_id)
        classified = classify_received(event, mime, context.org, thread_class, engine)
        await context.publisher.publish(classified)
        await threads.remember(event.conversation_id, classified.mail_class)

    return service
