"""The retry middleware on FastStream's in-memory broker: each outcome settles the delivery the
way the retry discipline says (the real-server behaviour is in test_retry_discipline.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from faststream.nats import TestNatsBroker
from nats.js.errors import NoStreamResponseError

from schemas.events import MailReceived
from schemas.examples import EXAMPLES
from schemas.subjects import mail_event_filter
from services.common.app import ServiceApp
from services.common.errors import TransientError
from services.common.failures import MemoryFailureCounter
from services.common.jetstream import DEAD_LETTER_STREAM, EVENTS_STREAM, ConsumerSpec
from services.common.orgconfig import Organisation
from services.common.settings import Settings

SPEC = ConsumerSpec("flaky", (mail_event_filter("received"),))
MAIL = MailReceived.model_validate(EXAMPLES["MailReceived"].model_dump())


def _service(org: Organisation, failure: BaseException | None) -> tuple[ServiceApp, Counter[str]]:
    settings = Settings(max_deterministic_failures=3)
    service = ServiceApp("flaky", "test", settings, org, failures=MemoryFailureCounter())
    calls: Counter[str] = Counter()

    @service.consumer(SPEC)
    async def handle(event: MailReceived) -> None:
        calls[event.case_id] += 1
        if failure is not None:
            raise failure

    return service, calls


async def _deliver(service: ServiceApp, body: Any, times: int = 1) -> tuple[Any, Any]:
    """Deliver `body` `times` times (as redeliveries would); the dead letters and alerts seen."""
    broker = service.broker
    letters = broker.subscriber("sakspost.deadletter.>", stream=DEAD_LETTER_STREAM)(lambda m: None)
    alerts = broker.subscriber("sakspost.alert.>", stream=EVENTS_STREAM)(lambda m: None)
    async with TestNatsBroker(broker) as test_broker:
        for _ in range(times):
            await test_broker.publish(
                body, MAIL.nats_subject(), stream=EVENTS_STREAM, headers={"Nats-Msg-Id": "m1"}
            )
        return letters.mock.call_args_list[:], alerts.mock.call_args_list[:]


async def test_success_publishes_nothing_else(org: Organisation) -> None:
    service, calls = _service(org, None)
    letters, alerts = await _deliver(service, MAIL)
    assert calls[MAIL.case_id] == 1
    assert letters == [] and alerts == []


@pytest.mark.parametrize(
    "error",
    [
        TransientError("archive down"),
        ConnectionError("reset"),
        # what a publish gets while a cluster's stream elects a new leader
        NoStreamResponseError(),
    ],
)
async def test_transient_failures_never_count(org: Organisation, error: Exception) -> None:
    service, calls = _service(org, error)
    letters, alerts = await _deliver(service, MAIL, times=10)
    assert calls[MAIL.case_id] == 10
    assert letters == [] and alerts == []


async def test_a_bug_is_counted_then_dead_lettered_with_an_alert(org: Organisation) -> None:
    service, calls = _service(org, ValueError("a bug"))
    letters, alerts = await _deliver(service, MAIL, times=3)
    assert calls[MAIL.case_id] == 3
    assert len(letters) == 1 and len(alerts) == 1
    ((alert,), _) = alerts[0]
    assert alert["kind"] == "dead_letter" and alert["case_id"] == MAIL.case_id
    assert alert["reason"] == "ValueError after 3 attempts"


async def test_a_payload_that_is_no_event_is_dead_lettered_at_once(org: Organisation) -> None:
    service, calls = _service(org, None)
    letters, alerts = await _deliver(service, {"type": "received", "case_id": 7})
    assert calls == Counter()
    assert len(letters) == 1
    ((alert,), _) = alerts[0]
    assert alert["case_id"] is None and alert["reason"].startswith("not a valid event")
