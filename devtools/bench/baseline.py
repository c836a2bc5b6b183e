"""Raw JetStream with the same payloads, on a server set up as the stack's: the floor the pipeline
is compared to.

Two measures, mirroring how the pipeline is measured:
- latency: one message at a time, published (awaiting the PubAck) and pulled and acknowledged
  by a durable consumer, timed from publish to the ack of its consumption;
- throughput: all payloads published back to back, then consumed in batches with acks.
The pipeline's `routed` takes three such hops (received, classified, routed) plus the work.
The latency loop's CPU is measured too, the clients' (this process: nats-py publishing, pulling
and acking) and nats-server's, per hop: the floor a service's CPU per mail is compared to.

Each hop is one of the pipeline's own, with production's rights: ingest publishes on the events
stream (Sakspost's configuration: file storage, deduplication, never deleted) and the classifier
pulls from its durable consumers. Nothing may publish elsewhere or delete a stream, so the hops do
not run on the stack's server, whose services would take them for mail: they run on a throw-away
server of its own, started exactly as the stack's (same binary and configuration, `sync_interval:
always`, the same accounts), provisioned by admin and stopped afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from nats.aio.client import Client
from nats.js import JetStreamContext

from devtools.bench.stats import summary
from devtools.harness.connect import connect_as
from schemas.subjects import mail_event_filter
from services.common.jetstream import (
    EVENTS_STREAM,
    ConsumerSpec,
    Layout,
    events_stream_config,
    provision,
)
from services.common.natsserver import NatsServer, start_nats_server
from services.common.permissions import inbox_prefix
from services.common.settings import Settings

# The classifier's durables (the ones its identity may pull), each on its own subject.
SINGLE = ConsumerSpec("classifier", (mail_event_filter("received"),))
BULK = ConsumerSpec("classifier-sent", (mail_event_filter("sent"),))
SINGLE_SUBJECT = "sakspost.mail.received.bench"
BULK_SUBJECT = "sakspost.mail.sent.bench"
FETCH_BATCH = 100


async def _hops(
    publisher: JetStreamContext,
    consumer: Client,
    payloads: list[bytes],
    server_cpu: Callable[[], float],
) -> dict[str, float]:
    js = consumer.jetstream()
    inbox = f"{inbox_prefix('classifier')}.".encode()
    round_trips = []
    single = await js.pull_subscribe_bind(SINGLE.durable, EVENTS_STREAM, inbox_prefix=inbox)
    cpu_before = time.process_time() + server_cpu()
    for number, payload in enumerate(payloads):
        started = time.perf_counter()
        await publisher.publish(SINGLE_SUBJECT, payload, headers={"Nats-Msg-Id": f"s{number}"})
        (message,) = await single.fetch(1, timeout=10)
        await message.ack_sync()
        round_trips.append((time.perf_counter() - started) * 1000)
    cpu_per_hop = (time.process_time() + server_cpu() - cpu_before) / max(1, len(payloads))

    bulk = await js.pull_subscribe_bind(BULK.durable, EVENTS_STREAM, inbox_prefix=inbox)
    started = time.perf_counter()
    for number, payload in enumerate(payloads):
        await publisher.publish(BULK_SUBJECT, payload, headers={"Nats-Msg-Id": f"b{number}"})
    consumed = 0
    while consumed < len(payloads):
        for message in await bulk.fetch(min(FETCH_BATCH, len(payloads) - consumed), timeout=10):
            await message.ack()
            consumed += 1
    await consumer.flush()
    elapsed = time.perf_counter() - started
    return {
        **summary(round_trips, "baseline.hop_ms"),
        "baseline.messages_per_second": round(len(payloads) / elapsed, 1),
        "baseline.cpu_ms_per_hop": round(1000 * cpu_per_hop, 3),
    }


def _cpu_seconds(server: NatsServer) -> Callable[[], float]:
    processes = [psutil.Process(node.process.pid) for node in server.nodes if node.process]

    def used() -> float:
        return sum(p.cpu_times().user + p.cpu_times().system for p in processes)

    return used


async def _measure(server: NatsServer, payloads: list[bytes]) -> dict[str, float]:
    settings = server.settings()
    admin = await connect_as(settings, "admin", "sakspost-bench-baseline-admin")
    try:
        layout = Layout(streams=(events_stream_config(Settings()),), buckets=(), object_stores=())
        await provision(admin.jetstream(), layout.with_consumers(SINGLE, BULK))
    finally:
        await admin.close()
    ingest = await connect_as(settings, "ingest", "sakspost-bench-baseline-ingest")
    classifier = await connect_as(settings, "classifier", "sakspost-bench-baseline-classifier")
    try:
        return await _hops(ingest.jetstream(), classifier, payloads, _cpu_seconds(server))
    finally:
        await classifier.close()
        await ingest.close()


async def jetstream_baseline(store_dir: Path, payloads: list[bytes]) -> dict[str, float]:
    """The baseline on a server of its own in `store_dir` (left there, stopped)."""
    server = await asyncio.to_thread(
        start_nats_server, store_dir, log_file=store_dir / "nats-server.log"
    )
    try:
        return await _measure(server, payloads)
    finally:
        await asyncio.to_thread(server.stop)
