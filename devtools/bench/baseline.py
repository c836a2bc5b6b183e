"""Raw JetStream on the same server, with the same payloads: the floor the pipeline is compared to.

Two measures, mirroring how the pipeline is measured:
- latency: one message at a time, published (awaiting the PubAck) and pulled and acknowledged
  by a durable consumer, timed from publish to the ack of its consumption;
- throughput: all payloads published back to back, then consumed in batches with acks.
The pipeline's `routed` takes three such hops (received, classified, routed) plus the work.
"""

from __future__ import annotations

import time

import nats
from nats.js import api

from devtools.bench.stats import summary

STREAM = "BENCH_BASELINE"
SUBJECT = "bench.baseline"
FETCH_BATCH = 100


async def jetstream_baseline(nats_url: str, payloads: list[bytes]) -> dict[str, float]:
    connection = await nats.connect(nats_url, name="sakspost-bench-baseline")
    js = connection.jetstream()
    # The same storage as Sakspost's streams (file; the server syncs every write).
    await js.add_stream(
        api.StreamConfig(name=STREAM, subjects=[f"{SUBJECT}.>"], storage=api.StorageType.FILE)
    )
    try:
        round_trips = []
        single = await js.pull_subscribe(f"{SUBJECT}.single", durable="single", stream=STREAM)
        for number, payload in enumerate(payloads):
            started = time.perf_counter()
            await js.publish(f"{SUBJECT}.single", payload, headers={"Nats-Msg-Id": f"s{number}"})
            (message,) = await single.fetch(1, timeout=10)
            await message.ack_sync()
            round_trips.append((time.perf_counter() - started) * 1000)

        bulk = await js.pull_subscribe(f"{SUBJECT}.bulk", durable="bulk", stream=STREAM)
        started = time.perf_counter()
        for number, payload in enumerate(payloads):
            await js.publish(f"{SUBJECT}.bulk", payload, headers={"Nats-Msg-Id": f"b{number}"})
        consumed = 0
        while consumed < len(payloads):
            for message in await bulk.fetch(min(FETCH_BATCH, len(payloads) - consumed), timeout=10):
                await message.ack()
                consumed += 1
        await connection.flush()
        elapsed = time.perf_counter() - started
    finally:
        await js.delete_stream(STREAM)
        await connection.close()
    return {
        **summary(round_trips, "baseline.hop_ms"),
        "baseline.messages_per_second": round(len(payloads) / elapsed, 1),
    }
