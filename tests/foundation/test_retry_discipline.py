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
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NoKeysError

from schemas.events import MailReceived, Party
from schemas.subjects import mail_event_filter
from services.common.app import ServiceApp
from services.common.errors import TransientError
from services.common.jetstream import (
    DEAD_LETTER_STREAM,
    EVENTS_STREAM,
    FAILURES_BUCKET,
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
    # Each attempt's mark was ended by its delayed nack, and the success removed the record.
    with pytest.raises(NoKeysError):
        await (await js.key_value(FAILURES_BUCKET)).keys()


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
