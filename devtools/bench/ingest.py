"""Ingest: webhook acknowledgement latency under a burst, and Graph reads per mail.

`python -m devtools.bench.ingest` starts a throw-away nats-server (with Sakspost's accounts, and
provisioned by admin as `sakspost up` does), the Graph emulator and the ingest service on free
ports, then
- posts a burst of notifications (one per POST, many at once, as Graph does under load) and
  times each answer: Graph wants well under 3 s (goal: p99 far below that);
- delivers mails and counts the Graph calls the fetchers made per `received` event from the
  emulator's request log (goal: at most 2, the message and its MIME).
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from devtools.graph_emulator import run_emulator
from devtools.harness.connect import connect_as
from sakspost.registry import full_layout
from services.common.jetstream import INGEST_BUCKET, provision
from services.common.natsserver import start_nats_server
from services.common.orgconfig import Organisation, load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, Settings
from services.ingest.app import build
from services.ingest.config import IngestSettings
from services.ingest.state import IngestState
from services.ingest.work import WORK_STREAM

BURST_CONCURRENCY = 50
RECEIVE_TIMEOUT_SECONDS = 120.0
# The fetchers' Graph calls that are about one mail (not subscriptions, delta or folder look-ups).
PER_MAIL_ROUTES = (
    "GET /v1.0/users/{user}/messages/{message}",
    "GET /v1.0/users/{user}/messages/{message}/$value",
)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


async def _ready(client: httpx.AsyncClient, within: float = 60.0) -> None:
    """Until every mailbox is subscribed (/statusz): the burst's items name the subscriptions."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if (await client.get("/statusz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("ingest did not become ready")


async def _burst(client: httpx.AsyncClient, items: list[dict[str, Any]]) -> list[float]:
    latencies: list[float] = []
    pending = list(items)

    async def sender() -> None:
        while pending:
            item = pending.pop()
            started = time.perf_counter()
            response = await client.post("/graph/notifications", json={"value": [item]})
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 202:
                raise RuntimeError(f"webhook answered {response.status_code}")

    await asyncio.gather(*(sender() for _ in range(BURST_CONCURRENCY)))
    return latencies


async def _drained(js: Any) -> None:
    """Until the fetchers have worked off the burst (its 404s must not count as mail reads)."""
    for _ in range(int(RECEIVE_TIMEOUT_SECONDS * 10)):
        if (await js.stream_info(WORK_STREAM)).state.messages == 0:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the fetchers did not work off the burst")


async def _provision(settings: Settings, org: Organisation) -> None:
    """What `sakspost up` provisions, as admin: the service only waits for it."""
    connection = await connect_as(settings, "admin", "sakspost-bench-provision")
    try:
        await provision(connection.jetstream(), full_layout(settings, org))
    finally:
        await connection.close()


async def _run(
    org: Organisation, notifications: int, mails: int, workdir: Path
) -> dict[str, float]:
    server = start_nats_server(workdir / "nats", log_file=workdir / "nats-server.log")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    try:
        async with run_emulator(org, "127.0.0.1", 0, 0) as emulator:
            # Ingest answers the personal opt-in command, so it starts only with Sakspost's own
            # app registration: the emulator's (no command is sent here).
            settings = server.settings(
                graph_base_url=emulator.graph_url,
                http_port=port,
                auth_tenant_id=emulator.emulator.tenant_id,
                auth_client_id=emulator.emulator.application_id,
            )
            await _provision(settings, org)
            service = build(settings, org, IngestSettings(upkeep_interval_seconds=1.0))
            uv = uvicorn.Server(uvicorn.Config(service.app, log_level="warning"))
            serving = asyncio.create_task(uv.serve(sockets=[sock]))
            # Admin reads ingest's state and the work stream; the integrator watches the events.
            connection = await connect_as(settings, "admin", "sakspost-bench-ingest")
            watcher = await connect_as(settings, "integrator", "sakspost-bench-ingest-events")
            try:
                async with (
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as app,
                    httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as admin,
                ):
                    await _ready(app)
                    js = connection.jetstream()
                    state = IngestState(await js.key_value(INGEST_BUCKET))
                    subscription = (await state.subscriptions()).subscriptions["post"]
                    # Ids of messages that do not exist: the fetcher's 404s are not timed here.
                    secret = subscription.client_state
                    items = [
                        {"subscriptionId": subscription.id, "clientState": secret,
                         "changeType": "created",
                         "resourceData": {"id": f"bench-{n}", "@odata.etag": f'W/"b{n}"'}}
                        for n in range(notifications)
                    ]  # fmt: skip
                    latencies = await _burst(app, items)
                    await _drained(js)

                    received = 0
                    all_received = asyncio.Event()

                    async def count(_message: Any) -> None:
                        nonlocal received
                        received += 1
                        if received >= mails:
                            all_received.set()

                    await watcher.subscribe("sakspost.mail.received.>", cb=count)
                    await admin.post("/_emulator/requests/reset")
                    addresses = [d.addresses[0] for d in org.departments.values()]
                    for number in range(mails):
                        raw = (
                            f"From: a@example.org\r\nTo: {addresses[number % len(addresses)]}\r\n"
                            f"Subject: bench {number}\r\nMessage-ID: <bench-{number}@example.org>"
                            "\r\n\r\nbench\r\n"
                        ).encode()
                        await admin.post(
                            f"/_emulator/mailboxes/{addresses[number % len(addresses)]}/deliver",
                            content=raw,
                        )
                    await asyncio.wait_for(all_received.wait(), RECEIVE_TIMEOUT_SECONDS)
                    log = (await admin.get("/_emulator/requests")).json()
            finally:
                await watcher.close()
                await connection.close()
                uv.should_exit = True
                await serving
    finally:
        sock.close()
        server.stop()
    per_mail = sum(int(log["byRoute"].get(route, 0)) for route in PER_MAIL_ROUTES)
    return {
        "ingest.ack_ms.p50": round(statistics.median(latencies), 2),
        "ingest.ack_ms.p99": round(_percentile(latencies, 0.99), 2),
        "ingest.ack_ms.max": round(max(latencies), 2),
        "ingest.burst_notifications": float(notifications),
        "graph.reads_per_mail": round(per_mail / max(1, received), 3),
        "graph.requests_per_mail": round(int(log["total"]) / max(1, received), 3),
        "ingest.mails_received": float(received),
    }


def bench_ingest(
    notifications: int = 1000, mails: int = 200, org: Organisation | None = None
) -> dict[str, float]:
    """Ack latency (ms) under a burst of `notifications`, and Graph reads per received mail."""
    organisation = org or load_organisation(DEFAULT_ORG_CONFIG)
    with tempfile.TemporaryDirectory(prefix="sakspost-bench-") as workdir:
        return asyncio.run(_run(organisation, notifications, mails, Path(workdir)))


if __name__ == "__main__":
    print(json.dumps(bench_ingest(), indent=2))
