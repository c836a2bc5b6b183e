"""The retry middleware on FastStream's in-memory broker: each outcome settles the delivery the
way the retry discipline says (the real-server behaviour is in test_retry_discipline.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from faststream.nats import TestNatsBroker
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NoStreamResponseError

from schemas.events import MailReceived
from schemas.examples import EXAMPLES
from schemas.subjects import mail_event_filter
from services.common.app import ServiceApp
from services.common.errors import TransientError
from services.common.failures import Attempt, AttemptRecord, MemoryFailureCounter, attempt_key
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


async def test_transient_failures_are_outcomes_and_never_count_as_crashes(
    org: Organisation,
) -> None:
    failures = MemoryFailureCounter()
    service, calls = _service(org, TransientError("archive down"), failures)
    letters, alerts = await _deliver(service, MAIL, times=10)
    assert calls[MAIL.case_id] == 10
    assert letters == [] and alerts == []
    attempt = await failures.begin(Attempt(attempt_key(SPEC.durable, "m1"), 11), 0.0)
    assert (attempt.crashed, attempt.record.failures) == (0, 0)


# The in-memory broker numbers every delivery 1, so crashes are counted on the record itself here
# and end to end on a real nats-server (test_crash_poison.py, test_retry_discipline.py).


def test_deliveries_that_left_no_outcome_are_crashes() -> None:
    record = AttemptRecord()
    assert [record.crashed(n) for n in (1, 2, 4)] == [0, 1, 3]
    # Delivery 1 was nack'ed (an outcome), delivery 2 was killed: delivery 3 counts one crash.
    assert record.closed().crashed(3) == 1
    assert record.closed().failed() == AttemptRecord(failures=1, ended=2)
    assert record.closed().failed().crashed(3) == 0


def test_an_attempt_ending_late_is_a_crash_no_more() -> None:
    # Delivery 1 outlived its ack wait; as delivery 2 starts elsewhere, it is counted as crashed,
    # and once it ends with an outcome after all, delivery 3 no longer counts it.
    assert AttemptRecord().crashed(2) == 1
    assert AttemptRecord().closed().closed().crashed(3) == 0


def test_records_of_earlier_formats_carry_the_crashes_they_counted() -> None:
    assert AttemptRecord.decode(AttemptRecord(1, 2).encode(), 9) == AttemptRecord(1, 2)
    # A bare count of failures, from before attempts were marked: no crashes.
    assert AttemptRecord.decode(b"4", 7) == AttemptRecord(failures=4, ended=6)
    # Attempts marked open: a long transient retry had every mark closed, so none carried over.
    closed = b'{"failures": 0, "crashed": 0, "open": 0}'
    assert AttemptRecord.decode(closed, 40).crashed(40) == 0
    # Two crashes counted, and a mark delivery 4 left open: three, as that format counted them.
    left_open = b'{"failures": 1, "crashed": 2, "open": 4}'
    assert AttemptRecord.decode(left_open, 5) == AttemptRecord(failures=1, ended=1)
    assert AttemptRecord.decode(left_open, 5).crashed(5) == 3


class _KvAwhileAway(MemoryFailureCounter):
    """KV unreachable for the first reads of the record (a restart, a leader election)."""

    def __init__(self, unreachable_reads: int) -> None:
        super().__init__()
        self.unreachable_reads = unreachable_reads
        self.reads = 0

    async def begin(self, attempt: Attempt, stored_age_s: float) -> Attempt:
        self.reads += 1
        if self.reads <= self.unreachable_reads:
            raise NatsTimeoutError
        return await super().begin(attempt, stored_age_s)


async def test_kv_away_for_a_moment_is_waited_for_not_nacked(org: Organisation) -> None:
    # Nacked unrecorded, each delivery of the outage would count as a crash later.
    failures = _KvAwhileAway(unreachable_reads=2)
    settings = Settings(retry_base_seconds=0.01, max_crashed_attempts=3)
    service = ServiceApp("flaky", "test", settings, org, failures=failures)
    calls: Counter[str] = Counter()

    @service.consumer(SPEC)
    async def handle(event: MailReceived) -> None:
        calls[event.case_id] += 1

    letters, alerts = await _deliver(service, MAIL)
    assert failures.reads == 3
    assert calls[MAIL.case_id] == 1
    assert letters == [] and alerts == []
