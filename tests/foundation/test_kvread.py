"""Reading every key of a bucket cannot miss one (services/common/kvread.py, issue 18).

nats-py's `keys()` and watches missed keys when the server's deliveries reached the client after
the reply to the consumer's info request: the test holds every delivery back until the client has
processed the next JetStream API reply, which makes that order certain instead of rare."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from nats.aio.client import Client

from services.common.kvread import live_entries, live_keys
from services.common.permissions import CORRECTIONS_BUCKET
from services.common.starts import STARTS_BUCKET, Start, read_starts, record_start
from tests.support.latedelivery import deliveries_after_replies


async def test_every_live_key_is_read_when_deliveries_arrive_after_the_api_replies(
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:
    connection = await connect_as("classifier")
    kv = await connection.jetstream().key_value(CORRECTIONS_BUCKET)
    for number in range(300):  # more than one batch
        await kv.put(f"c.{number:03}.class", f"value {number}".encode())
    await kv.put("j.kept", b"judgement")
    await kv.put("j.gone", b"judgement")
    await kv.delete("j.gone")
    await kv.put("c.007.class", b"rewritten")

    with deliveries_after_replies(connection) as held:
        everything = await live_entries(kv)
        judgements = await live_keys(kv, "j.*")
    assert held
    assert len(everything) == 301
    assert everything["c.007.class"].value == b"rewritten"
    assert everything["c.299.class"].value == b"value 299"
    assert "j.gone" not in everything
    assert judgements == ["j.kept"]


async def test_an_empty_pattern_reads_nothing_and_starts_are_read_by_a_reader(
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:
    writer = await (await connect_as("classifier")).jetstream().key_value(STARTS_BUCKET)
    reader = await (await connect_as("notifier")).jetstream().key_value(STARTS_BUCKET)
    assert await live_entries(reader) == {}
    assert await read_starts(reader) == []
    start = Start("classifier", "pod-1", datetime(2026, 12, 6, 20, 0, tzinfo=UTC))
    await record_start(writer, start)
    assert await read_starts(reader) == [start]
    assert await live_keys(reader, "router.>") == []
