"""JetStream layout on a real nats-server: never-delete streams, idempotent provisioning and the
migration of a durable consumer whose configuration changed."""

from __future__ import annotations

import pytest
from nats.js import JetStreamContext, api
from nats.js.errors import APIError

from services.common.jetstream import (
    CASES_BUCKET,
    EVENTS_STREAM,
    MIME_BUCKET,
    ConsumerSpec,
    ProvisioningError,
    base_layout,
    ensure_consumer,
    ensure_stream,
    events_stream_config,
    provision,
)
from services.common.settings import Settings


async def test_provisioning_is_idempotent(js: JetStreamContext, settings: Settings) -> None:
    again = await provision(js, base_layout(settings))
    assert set(again.values()) == {"unchanged"}
    info = await js.stream_info(EVENTS_STREAM)
    assert info.config.deny_delete and info.config.deny_purge  # R13
    assert info.config.max_age in (0, None) and info.config.max_msgs == -1
    assert info.config.duplicate_window is not None
    assert info.config.duplicate_window > settings.delta_interval_seconds
    await js.key_value(CASES_BUCKET)
    await js.object_store(MIME_BUCKET)


async def test_events_can_be_neither_deleted_nor_purged(js: JetStreamContext) -> None:  # R13
    await js.publish("sakspost.mail.received.post", b"{}", stream=EVENTS_STREAM)
    with pytest.raises(APIError, match="message delete not permitted"):
        await js.delete_msg(EVENTS_STREAM, 1)
    with pytest.raises(APIError, match="purge not permitted"):
        await js.purge_stream(EVENTS_STREAM)
    assert (await js.stream_info(EVENTS_STREAM)).state.messages == 1


async def test_a_stream_with_a_fixed_field_wrong_is_refused(
    js: JetStreamContext, settings: Settings
) -> None:
    await js.add_stream(name="OTHER", subjects=["other.>"], deny_delete=False)
    wrong = events_stream_config(settings)
    wrong.name = "OTHER"
    wrong.subjects = ["other.>"]
    with pytest.raises(ProvisioningError, match=r"deny_delete .* cannot be changed in place"):
        await ensure_stream(js, wrong)


async def test_editable_stream_fields_are_updated(js: JetStreamContext, settings: Settings) -> None:
    wider = Settings(duplicate_window_seconds=settings.duplicate_window_seconds * 2)
    assert await ensure_stream(js, events_stream_config(wider)) == "updated"
    info = await js.stream_info(EVENTS_STREAM)
    assert info.config.duplicate_window == pytest.approx(wider.duplicate_window_seconds)


async def _publish(js: JetStreamContext, count: int) -> None:
    for number in range(count):
        await js.publish(
            "sakspost.mail.received.post",
            b"{}",
            stream=EVENTS_STREAM,
            headers={"Nats-Msg-Id": f"m{number}"},
        )


async def test_changed_consumer_config_is_applied_to_the_existing_durable(
    js: JetStreamContext,
) -> None:
    spec = ConsumerSpec("worker", ("sakspost.mail.received.*",), ack_wait_seconds=30)
    assert await ensure_consumer(js, spec) == "created"
    assert await ensure_consumer(js, spec) == "unchanged"
    changed = ConsumerSpec(
        "worker", ("sakspost.mail.received.*", "sakspost.mail.archived.*"), ack_wait_seconds=45
    )
    assert await ensure_consumer(js, changed) == "updated"
    info = await js.consumer_info(EVENTS_STREAM, "worker")
    assert info.config.ack_wait == pytest.approx(45)
    assert sorted(info.config.filter_subjects or []) == sorted(changed.filter_subjects)


async def test_consumer_the_server_cannot_update_is_recreated_after_its_ack_floor(
    js: JetStreamContext,
) -> None:
    await _publish(js, 10)
    # An old deployment created the durable with another deliver policy (not editable).
    await js.add_consumer(
        EVENTS_STREAM,
        config=api.ConsumerConfig(
            durable_name="worker",
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.LAST,
            filter_subjects=["sakspost.mail.received.*"],
        ),
    )
    subscription = await js.pull_subscribe_bind("worker", stream=EVENTS_STREAM)
    (message,) = await subscription.fetch(1, timeout=5)
    await message.ack_sync()
    floor = message.metadata.sequence.stream
    await _publish_more(js)

    spec = ConsumerSpec("worker", ("sakspost.mail.received.*",))
    assert await ensure_consumer(js, spec) == "recreated"
    info = await js.consumer_info(EVENTS_STREAM, "worker")
    assert info.config.opt_start_seq == floor + 1
    # Acknowledged work is not redone; everything after it is still delivered.
    assert info.num_pending == 3
    assert await ensure_consumer(js, spec) == "unchanged"


async def _publish_more(js: JetStreamContext) -> None:
    for number in range(3):
        await js.publish(
            "sakspost.mail.received.post",
            b"{}",
            stream=EVENTS_STREAM,
            headers={"Nats-Msg-Id": f"later{number}"},
        )
