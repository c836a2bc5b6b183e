"""JetStream layout on a real nats-server: never-delete streams, idempotent provisioning and the
migration of a durable consumer whose configuration changed.

Provisioning is admin's alone (`permissions.py`), so these tests start from a bare server (the
accounts, nothing provisioned) and provision as admin; events are published as their stage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

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
from services.common.natsserver import NatsServer
from services.common.settings import Settings
from tests.support.connections import Connect, identities
from tests.support.provisioning import TEST_SETTINGS, layout_for
from tests.support.publishing import EventInjector
from tests.support.violations import connect_watched


@pytest.fixture
def layout_settings(bare_nats_server: NatsServer) -> Settings:
    return bare_nats_server.settings(**TEST_SETTINGS)


@pytest.fixture
async def connect(bare_nats_server: NatsServer) -> AsyncIterator[Connect]:
    """Connect to the bare server as an identity."""
    async with identities(bare_nats_server) as connect:
        yield connect


@pytest.fixture
async def admin(connect: Connect) -> JetStreamContext:
    """Admin's JetStream on the bare server: the only identity that provisions."""
    return (await connect("admin")).jetstream()


@pytest.fixture
async def js(admin: JetStreamContext, layout_settings: Settings) -> JetStreamContext:
    """Admin's JetStream after provisioning the common layout."""
    await provision(admin, base_layout(layout_settings))
    return admin


@pytest.fixture
def stages(connect: Connect) -> EventInjector:
    """Publishes each event as the stage that owns it (ingest for `received`)."""
    return EventInjector(connect)


async def test_provisioning_is_idempotent(
    admin: JetStreamContext, layout_settings: Settings
) -> None:
    layout = layout_for(layout_settings)
    first = await provision(admin, layout)
    assert set(first.values()) == {"created"}
    again = await provision(admin, layout)
    assert set(again.values()) == {"unchanged"}
    assert again.keys() == first.keys()
    info = await admin.stream_info(EVENTS_STREAM)
    assert info.config.deny_delete and info.config.deny_purge  # R13
    assert info.config.max_age in (0, None) and info.config.max_msgs == -1
    assert info.config.duplicate_window is not None
    assert info.config.duplicate_window > layout_settings.delta_interval_seconds
    await admin.key_value(CASES_BUCKET)
    await admin.object_store(MIME_BUCKET)


async def test_events_can_be_neither_deleted_nor_purged(  # R13
    bare_nats_server: NatsServer, js: JetStreamContext, stages: EventInjector
) -> None:
    await stages.publish("sakspost.mail.received.post", b"{}")
    # Not even admin, who may do everything else to a stream, may send these requests...
    connection, violations = await connect_watched(bare_nats_server, "admin")
    try:
        admin = connection.jetstream()
        refused = await violations.refused(admin.delete_msg(EVENTS_STREAM, 1))
        assert f"$JS.API.STREAM.MSG.DELETE.{EVENTS_STREAM}".lower() in refused.lower()
        refused = await violations.refused(admin.purge_stream(EVENTS_STREAM))
        assert f"$JS.API.STREAM.PURGE.{EVENTS_STREAM}".lower() in refused.lower()
        refused = await violations.refused(admin.delete_stream(EVENTS_STREAM))
        assert f"$JS.API.STREAM.DELETE.{EVENTS_STREAM}".lower() in refused.lower()
        # ...nor take the stream's own protection away, which the server refuses to anyone.
        for protection, refusal in (
            ("deny_delete", "can not cancel deny message deletes"),
            ("deny_purge", "can not cancel deny purge"),
        ):
            config = (await admin.stream_info(EVENTS_STREAM)).config
            setattr(config, protection, False)
            with pytest.raises(APIError, match=refusal):
                await admin.update_stream(config=config)
    finally:
        await connection.close()
    info = await js.stream_info(EVENTS_STREAM)
    assert info.config.deny_delete and info.config.deny_purge
    assert info.state.messages == 1


async def test_a_stream_with_a_fixed_field_wrong_is_refused(
    js: JetStreamContext, layout_settings: Settings
) -> None:
    await js.add_stream(name="OTHER", subjects=["other.>"], storage=api.StorageType.MEMORY)
    wrong = events_stream_config(layout_settings)
    wrong.name = "OTHER"
    wrong.subjects = ["other.>"]
    with pytest.raises(ProvisioningError, match=r"storage .* cannot be changed in place"):
        await ensure_stream(js, wrong)


async def test_a_protection_is_added_in_place_and_never_removed(
    js: JetStreamContext, layout_settings: Settings
) -> None:  # R13
    await js.add_stream(name="OTHER", subjects=["other.>"], deny_delete=False, deny_purge=False)
    protected = events_stream_config(layout_settings)
    protected.name = "OTHER"
    protected.subjects = ["other.>"]
    assert await ensure_stream(js, protected) == "updated"
    info = await js.stream_info("OTHER")
    assert info.config.deny_delete and info.config.deny_purge
    protected.deny_delete = False
    with pytest.raises(ProvisioningError, match=r"deny_delete .* never lets a stream lose"):
        await ensure_stream(js, protected)


async def test_editable_stream_fields_are_updated(
    js: JetStreamContext, layout_settings: Settings
) -> None:
    wider = Settings(duplicate_window_seconds=layout_settings.duplicate_window_seconds * 2)
    assert await ensure_stream(js, events_stream_config(wider)) == "updated"
    info = await js.stream_info(EVENTS_STREAM)
    assert info.config.duplicate_window == pytest.approx(wider.duplicate_window_seconds)


async def _publish(stages: EventInjector, count: int, prefix: str = "m") -> None:
    for number in range(count):
        await stages.publish(
            "sakspost.mail.received.post", b"{}", headers={"Nats-Msg-Id": f"{prefix}{number}"}
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
    js: JetStreamContext, stages: EventInjector
) -> None:
    await _publish(stages, 10)
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
    await _publish(stages, 3, prefix="later")

    spec = ConsumerSpec("worker", ("sakspost.mail.received.*",))
    assert await ensure_consumer(js, spec) == "recreated"
    info = await js.consumer_info(EVENTS_STREAM, "worker")
    assert info.config.opt_start_seq == floor + 1
    # Acknowledged work is not redone; everything after it is still delivered.
    assert info.num_pending == 3
    assert await ensure_consumer(js, spec) == "unchanged"
