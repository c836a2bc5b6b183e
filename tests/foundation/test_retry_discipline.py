"""The retry discipline (docs/design.md) on a real nats-server: transient failures are retried
until they pass, deterministic ones are bounded and then dead-lettered with an alert, poison at
once — never silence (R10).

A service may pull only its own durable consumers and dead-letter only their messages
(`permissions.py`): the flaky service runs as the classifier on the classifier's durable, as
provisioned (no real classifier runs here).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from schemas.events import MailReceived, Party
from schemas.subjects import mail_event_filter
from services.common.app import ServiceApp
from services.common.errors import TransientError
from services.common.failures import Attempt, AttemptRecord, KvFailureCounter, attempt_key
from services.common.jetstream import (
    DEAD_LETTER_STREAM,
    EVENTS_STREAM,
    FAILURES_BUCKET,
    FAILURES_TTL_SECONDS,
    ConsumerSpec,
)
from services.common.orgconfig import Organisation
from services.common.retry import retry_delay
from services.common.settings import Settings
from tests.support.events import event_log
from tests.support.publishing import EventInjector

IDENTITY = "classifier"
SPEC = ConsumerSpec(IDENTITY, (mail_event_filter("received"),))


def _event(number: int) -> MailReceived:
    return MailReceived.build(
        case_id=f"case{number}",
        department="bygg",
        mailbox="bygg@ha.kommune.no",
        internet_message_id=f"{number}@x.invalid",
        graph_message_id=f"g{number}",
        sender=Party(address="a@x.invalid"),
        received_at=datetime(2026, 11, 25, tzinfo=UTC),
        mime_sha256="b" * 64,
        mime_size=1,
    )


def _settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_deterministic_failures": 3, "max_crashed_attempts": 3})


def test_retry_delay_grows_and_is_capped() -> None:
    assert [retry_delay(n, 1.0, 10.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


async def test_transient_failures_are_retried_until_the_handler_succeeds(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:
    attempts: Counter[str] = Counter()
    handled = asyncio.Event()
    service = ServiceApp(IDENTITY, "test", _settings(settings), org)

    @service.consumer(SPEC)
    async def handle(event: MailReceived) -> None:
        attempts[event.case_id] += 1
        # More than either bound (deterministic failures, crashed attempts): never counted.
        if attempts[event.case_id] <= 4:
            raise TransientError("archive down")
        handled.set()

    async with event_log(settings, "sakspost.alert.>") as alerts, service.running():
        await injector.event(_event(1))
        await asyncio.wait_for(handled.wait(), timeout=20)
    assert alerts.seen == []
    assert attempts["case1"] == 5
    assert (await js.stream_info(DEAD_LETTER_STREAM)).state.messages == 0
    # Each delayed nack was recorded as an outcome, and the success removed the record.
    with pytest.raises(NoKeysError):
        await (await js.key_value(FAILURES_BUCKET)).keys()
    assert await _kv_writes(js) == 4 + 1


async def _kv_writes(js: JetStreamContext) -> int:
    """Every write to the failures bucket so far (a delete is one too): its stream's last
    sequence, as each test has a nats-server of its own."""
    return (await js.stream_info(f"KV_{FAILURES_BUCKET}")).state.last_seq


class _CountingKv:
    """The failures bucket, counting each operation the counter makes on it."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self.kv, name)


async def test_messages_handled_at_their_first_delivery_cost_no_kv_operation(
    js: JetStreamContext,
    failures_kv: KeyValue,
    injector: EventInjector,
    settings: Settings,
    org: Organisation,
) -> None:
    kv = _CountingKv(failures_kv)
    counter = KvFailureCounter(cast(KeyValue, kv), FAILURES_TTL_SECONDS)
    service = ServiceApp(IDENTITY, "test", _settings(settings), org, failures=counter)
    handled: set[str] = set()
    all_handled = asyncio.Event()
    cases = [f"case{n}" for n in range(10, 30)]

    @service.consumer(SPEC)
    async def handle(event: MailReceived) -> None:
        handled.add(event.case_id)
        if handled == set(cases):
            all_handled.set()

    async with service.running():
        for number in range(10, 30):
            await injector.event(_event(number))
        await asyncio.wait_for(all_handled.wait(), timeout=20)
    # Stopped: the last message's handler has finished, and it was acknowledged.
    info = await js.consumer_info(EVENTS_STREAM, SPEC.durable)
    assert info.num_ack_pending == 0 and info.num_redelivered == 0
    assert kv.calls == Counter()
    assert await _kv_writes(js) == 0


async def test_deterministic_failure_is_bounded_then_dead_lettered_with_an_alert(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # R10
    attempts: Counter[str] = Counter()
    service = ServiceApp(IDENTITY, "test", _settings(settings), org)

    @service.consumer(SPEC)
    async def handle(event: MailReceived) -> None:
        attempts[event.case_id] += 1
        raise ValueError("a bug")

    async with event_log(settings, "sakspost.alert.>") as alerts, service.running():
        await injector.event(_event(2))
        ((subject, alert),) = await alerts.wait_for(lambda _s, p: p["kind"] == "dead_letter")
    assert subject == "sakspost.alert.dead_letter.bygg"
    assert alert["case_id"] == "case2"
    assert "ValueError after 3 attempts" in alert["reason"]
    assert attempts["case2"] == 3
    letter = await js.get_last_msg(DEAD_LETTER_STREAM, f"sakspost.deadletter.{SPEC.durable}")
    assert letter.headers is not None
    assert letter.headers["Sakspost-Original-Subject"] == "sakspost.mail.received.bygg"
    assert letter.data == _event(2).to_json()
    info = await js.consumer_info(EVENTS_STREAM, SPEC.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_poison_is_dead_lettered_at_once(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:
    calls: list[str] = []
    good_one_handled = asyncio.Event()
    service = ServiceApp(IDENTITY, "test", _settings(settings), org)

    @service.consumer(SPEC)
    async def handle(event: MailReceived) -> None:
        calls.append(event.case_id)
        good_one_handled.set()

    async with event_log(settings, "sakspost.alert.>") as alerts, service.running():
        await injector.publish("sakspost.mail.received.it", b'{"not": "an event"')
        await injector.event(_event(3))
        ((subject, alert),) = await alerts.wait_for(lambda _s, p: p["kind"] == "dead_letter")
        # The good message behind the poison one is still handled.
        await asyncio.wait_for(good_one_handled.wait(), timeout=10)
        assert await service.readiness() == []
    assert subject == "sakspost.alert.dead_letter.it"
    assert alert["case_id"] is None
    assert "not a valid event" in alert["reason"]
    assert calls == ["case3"]


@pytest.fixture
async def failures_kv(connect_as: Callable[[str], Awaitable[Client]]) -> KeyValue:
    """The failures bucket as the classifier sees it: it may write its own consumer's keys."""
    return await (await connect_as(IDENTITY)).jetstream().key_value(FAILURES_BUCKET)


def _delivery(number: int) -> Attempt:
    return Attempt(attempt_key(SPEC.durable, "41"), number)


async def test_crashes_are_the_deliveries_that_recorded_no_outcome(
    js: JetStreamContext, failures_kv: KeyValue
) -> None:
    counter = KvFailureCounter(failures_kv, FAILURES_TTL_SECONDS)
    first = await counter.begin(_delivery(1), 0.0)
    assert first.crashed == 0 and await _kv_writes(js) == 0  # a first delivery reads nothing
    # Delivery 1 outlives its ack wait: delivery 2 starts while it is busy and counts it.
    second = await counter.begin(_delivery(2), 1.0)
    assert second.crashed == 1 and await _kv_writes(js) == 0
    # Both end with a transient failure, each recording its outcome (compare-and-set).
    await counter.end(first)
    await counter.end(second)
    # Delivery 3 is killed; delivery 4 counts that one crash, and fails deterministically.
    fourth = await counter.begin(_delivery(4), 1.0)
    assert (fourth.crashed, fourth.record) == (1, AttemptRecord(failures=0, ended=2))
    fourth = await counter.fail(fourth)
    fifth = await counter.begin(_delivery(5), 1.0)
    assert (fifth.crashed, fifth.record.failures) == (1, 1)
    await counter.forget(fifth)
    with pytest.raises(NoKeysError):
        await (await js.key_value(FAILURES_BUCKET)).keys()


async def test_a_record_of_the_previous_format_keeps_its_count(failures_kv: KeyValue) -> None:
    kv = failures_kv
    counter = KvFailureCounter(kv, FAILURES_TTL_SECONDS)
    # In a transient retry of hours under the previous format: every mark was closed.
    await kv.create(_delivery(1).key, b'{"failures": 0, "crashed": 0, "open": 0}')
    attempt = await counter.begin(_delivery(60), 1.0)
    assert attempt.crashed == 0
    await counter.end(attempt)
    assert (await counter.begin(_delivery(61), 1.0)).crashed == 0
    # Two crashes counted and a mark left open by the process the upgrade stopped: three.
    await kv.put(_delivery(1).key, b'{"failures": 1, "crashed": 2, "open": 61}')
    assert (await counter.begin(_delivery(62), 1.0)).crashed == 3


async def test_a_record_that_may_have_expired_starts_the_count_afresh(
    failures_kv: KeyValue,
) -> None:
    counter = KvFailureCounter(failures_kv, FAILURES_TTL_SECONDS)
    # No record for a redelivery of a message stored within the TTL: no outcome was ever
    # recorded, so every delivery before it crashed.
    assert (await counter.begin(_delivery(9), FAILURES_TTL_SECONDS / 2)).crashed == 8
    # A message older than the TTL may have lost its record: the count starts from here.
    old = FAILURES_TTL_SECONDS * 2
    assert (await counter.begin(_delivery(9), old)).crashed == 0
    # From here on, the record counts as before: delivery 9 was killed.
    assert (await counter.begin(_delivery(10), old)).crashed == 1
