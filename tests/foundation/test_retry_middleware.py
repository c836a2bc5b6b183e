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
from services.common.failures import AttemptRecord, MemoryFailureCounter
from services.common.jetstream import DEAD_LETTER_STREAM, EVENTS_STREAM, ConsumerSpec
from services.common.orgconfig import Organisation
from services.common.settings import Settings

SPEC = ConsumerSpec("flaky", (mail_event_filter("received"),))
MAIL = MailReceived.model_validate(EXAMPLES["MailReceived"].model_dump())


def _service(
    org: Organisation,
    failure: BaseException | None,
    failures: MemoryFailureCounter | None = None,
) -> tuple[ServiceApp, Counter[str]]:
    settings = Settings(max_deterministic_failures=3, max_crashed_attempts=3)
    counter = failures or MemoryFailureCounter()
    service = ServiceApp("flaky", "test", settings, org, failures=counter)
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


async def _crashed_attempts(failures: MemoryFailureCounter, times: int) -> None:
    """What a process killed mid-handler leaves behind: attempts marked started, never ended."""
    for delivery in range(1, times + 1):
        await failures.begin(SPEC.durable, "m1", delivery)


async def test_attempts_that_never_ended_are_dead_lettered_as_crashed(org: Organisation) -> None:
    failures = MemoryFailureCounter()
    await _crashed_attempts(failures, 3)
    service, calls = _service(org, None, failures)
    letters, alerts = await _deliver(service, MAIL)
    assert calls == Counter()  # the handler is not tried a fourth time
    assert len(letters) == 1 and len(alerts) == 1
    ((alert,), _) = alerts[0]
    assert alert["kind"] == "dead_letter" and alert["case_id"] == MAIL.case_id
    assert alert["reason"].startswith("crashed: 3 attempts started and never ended")


async def test_fewer_crashes_than_the_limit_are_tried_again(org: Organisation) -> None:
    failures = MemoryFailureCounter()
    await _crashed_attempts(failures, 2)
    service, calls = _service(org, None, failures)
    letters, alerts = await _deliver(service, MAIL)
    assert calls[MAIL.case_id] == 1
    assert letters == [] and alerts == []


async def test_transient_failures_end_their_attempts_and_never_count_as_crashes(
    org: Organisation,
) -> None:
    failures = MemoryFailureCounter()
    service, calls = _service(org, TransientError("archive down"), failures)
    letters, alerts = await _deliver(service, MAIL, times=10)
    assert calls[MAIL.case_id] == 10
    assert letters == [] and alerts == []
    attempt = await failures.begin(SPEC.durable, "m1", 11)
    assert (attempt.record.crashed, attempt.record.failures) == (0, 0)


def test_an_attempt_ending_late_leaves_the_newer_attempts_mark() -> None:
    # Delivery 1 outlived its ack wait; delivery 2 began on another replica meanwhile.
    record = AttemptRecord().begun(1).begun(2)
    assert record.ended(1) == AttemptRecord(crashed=1, open=2)
    assert record.failed(1) == AttemptRecord(failures=1, crashed=1, open=2)
    assert record.ended(2) == AttemptRecord(crashed=1)


def test_a_count_kept_before_attempts_were_marked_is_read_as_failures() -> None:
    assert AttemptRecord.decode(b"4") == AttemptRecord(failures=4)
    assert AttemptRecord.decode(AttemptRecord(1, 2, 3).encode()) == AttemptRecord(1, 2, 3)
