"""Issue 16, finding 2: websak never loads a mail over the parse cap whole. It cannot file a
partial mail (the .eml beside the PDF must be the original byte for byte, R9a), so it refuses it at
once with an alert naming the size: a person files it from the Object Store, where it is kept."""

from __future__ import annotations

from nats.js import JetStreamContext

from devtools.websak_standin import RunningStandIn
from services.common.jetstream import RECEIPTS_BUCKET
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.websak.app import build
from services.websak.receipts import ReceiptStore
from tests.support.events import event_log
from tests.support.publishing import EventInjector
from tests.websak_service.conftest import wiring_for
from tests.websak_service.support import archive_state, deliver, labels, publish


async def test_a_mail_over_the_parse_cap_is_refused_with_an_alert_not_loaded(
    js: JetStreamContext,
    injector: EventInjector,
    org: Organisation,
    settings: Settings,
    standin: RunningStandIn,
) -> None:  # finding 2, R9a, R10
    mail = await deliver(injector, org, labels("arkivverdig")[0])
    small_cap = settings.model_copy(update={"mime_parse_cap_bytes": len(mail.raw) - 1})
    service = build(small_cap, org, wiring_for(standin.url))
    async with event_log(settings, "sakspost.alert.>") as alerts, service.running():
        await publish(injector, mail.routed)
        ((subject, alert),) = await alerts.wait_for_case(mail.case_id, "alert", timeout=30)
    assert subject.startswith("sakspost.alert.archive_failed.")
    assert "SAKSPOST_MIME_PARSE_CAP_BYTES" in alert["reason"]
    assert (await archive_state(standin.url))["journalposter"] == {}
    stored = await ReceiptStore(await js.key_value(RECEIPTS_BUCKET)).get(mail.case_id)
    assert stored is not None and stored[0].refusal is not None  # kept, never dropped


async def test_a_mail_whose_rendering_goes_over_the_workers_limit_is_refused_with_an_alert(
    js: JetStreamContext,
    injector: EventInjector,
    org: Organisation,
    settings: Settings,
    standin: RunningStandIn,
) -> None:  # issue 16, deliverable 1: rendering runs in a worker, never on websak's event loop
    mail = await deliver(injector, org, labels("arkivverdig")[0])
    # Too little memory for a renderer at all: every mail's rendering is over the limit.
    starved = settings.model_copy(update={"worker_memory_mib": 128})
    service = build(starved, org, wiring_for(standin.url))
    async with event_log(settings, "sakspost.alert.>") as alerts, service.running():
        await publish(injector, mail.routed)
        ((subject, alert),) = await alerts.wait_for_case(mail.case_id, "alert", timeout=60)
    assert subject.startswith("sakspost.alert.archive_failed.")
    assert alert["reason"].startswith("rendering the mail stopped in its worker")
    assert (await archive_state(standin.url))["journalposter"] == {}
    stored = await ReceiptStore(await js.key_value(RECEIPTS_BUCKET)).get(mail.case_id)
    assert stored is not None and stored[0].refusal is not None  # kept, never dropped
