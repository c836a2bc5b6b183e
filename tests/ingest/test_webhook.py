"""The webhook against hostile and broken input: the handshake, forged and unknown notifications,
garbage, truncated and deeply nested bodies, a 50 MB body, NATS down. No event comes of any of
them, the service stays up and keeps answering, and a valid item in a mixed batch is kept."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from starlette.requests import Request

from devtools.graph_emulator import RunningEmulator
from services.common.jetstream import INGEST_BUCKET
from services.common.natsserver import NatsServer
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.ingest.config import MAX_BODY_BYTES
from services.ingest.notifications import Refused
from services.ingest.state import IngestState, SubscriptionRecord
from services.ingest.webhook import MAX_VALIDATION_TOKEN, read_limited
from tests.conftest import scaled
from tests.graph_emulator.conftest import deliver, raw_mail, wait_until
from tests.ingest.conftest import QUICK, running_ingest, work_drained
from tests.support.events import event_log

POST = "post@ha.kommune.no"
JSON = {"content-type": "application/json"}


async def subscription_of(js: JetStreamContext, department: str) -> SubscriptionRecord:
    state = IngestState(await js.key_value(INGEST_BUCKET))
    return (await state.subscriptions()).subscriptions[department]


def change_item(subscription: SubscriptionRecord, message_id: str, **overrides: Any) -> Any:
    item = {
        "subscriptionId": subscription.id,
        "clientState": subscription.client_state,
        "changeType": "created",
        "resource": f"Users/x/Messages/{message_id}",
        "resourceData": {"@odata.etag": 'W/"CQAAAB1"', "id": message_id},
    }
    return {**item, **overrides}


async def test_validation_handshake_echoes_the_decoded_token_as_text(
    js: JetStreamContext, settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:
    async with running_ingest(settings, org, emulator) as (_url, client):
        for path in ("/graph/notifications", "/graph/lifecycle"):
            response = await client.post(
                path, params={"validationToken": "Validation: <b>token</b> 1+1"}
            )
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            assert response.text == "Validation: <b>token</b> 1+1"


WEBHOOK_PATHS = ("/graph/notifications", "/graph/lifecycle", "/graph/personal")


async def test_every_webhook_path_caps_the_token_the_body_and_the_batch(
    js: JetStreamContext, settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:  # issue 16, finding 7
    small = QUICK.model_copy(update={"max_body_bytes": 64 * 1024, "max_batch_items": 10})
    lifecycle = {"subscriptionId": "s", "clientState": "c", "lifecycleEvent": "missed"}
    async with running_ingest(settings, org, emulator, small) as (_url, client):
        for path in WEBHOOK_PATHS:
            token = "<script>" + "x" * MAX_VALIDATION_TOKEN
            refused = await client.post(path, params={"validationToken": token})
            assert refused.status_code == 400, path
            assert refused.headers["content-type"].startswith("text/plain")
            assert "<script>" not in refused.text
            echoed = await client.post(path, params={"validationToken": "Validation: ok"})
            assert (echoed.status_code, echoed.text) == (200, "Validation: ok")

            too_big = b'{"value": [' + b" " * (64 * 1024) + b"]}"
            response = await client.post(path, content=too_big, headers=JSON)
            assert response.status_code == 413, path
            too_many = await client.post(path, json={"value": [lifecycle] * 11})
            assert too_many.status_code == 413, path
            at_the_cap = await client.post(path, json={"value": [lifecycle] * 10})
            assert at_the_cap.status_code == 202, path


async def test_forged_and_unknown_items_are_dropped_and_valid_ones_kept(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
) -> None:
    await admin.put(f"/_emulator/mailboxes/{POST}/faults", json={"dropNotifications": 1.0})
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator) as (_url, client),
    ):
        subscription = await subscription_of(js, "post")
        forged_id = await deliver(admin, POST, raw_mail("forged"))
        kept_id = await deliver(admin, POST, raw_mail("kept"))
        forged = [
            change_item(subscription, forged_id, clientState="guess"),
            change_item(subscription, forged_id, clientState=None),
            change_item(subscription, forged_id, subscriptionId="00000000-dead-beef"),
            {"subscriptionId": subscription.id, "clientState": subscription.client_state},
            "not an object",
        ]
        batch = {"value": [*forged, change_item(subscription, kept_id)]}
        response = await client.post("/graph/notifications", json=batch)
        assert response.status_code == 202
        (_subject, event), *_ = await events.wait_for(lambda _s, p: p["type"] == "received")
        assert event["subject"] == "kept"
        only_forged = await client.post("/graph/notifications", json={"value": forged})
        assert only_forged.status_code == 202  # an attacker learns nothing
        await wait_until(lambda: work_drained(js))
    assert [p["subject"] for _s, p in events.seen] == ["kept"]


def garbage_bodies(count: int, seed: int = 5) -> list[bytes]:
    """Random bytes, random JSON and truncations of a real batch."""
    rng = random.Random(seed)
    real = json.dumps(
        {"value": [{"subscriptionId": "s", "clientState": "c", "changeType": "created",
                    "resourceData": {"id": "m", "@odata.etag": 'W/"k"'}}]}
    ).encode()  # fmt: skip
    bodies = []
    for number in range(count):
        kind = number % 4
        if kind == 0:
            bodies.append(rng.randbytes(rng.randint(0, 300)))
        elif kind == 1:
            bodies.append(real[: rng.randint(0, len(real) - 1)])
        elif kind == 2:
            value: Any = rng.choice([None, 1, "x", [], {}, {"value": "x"}, {"value": [1, None]}])
            bodies.append(json.dumps(value).encode())
        else:
            bodies.append(json.dumps({"value": [{"subscriptionId": rng.random()}]}).encode())
    return bodies


async def test_garbage_nesting_and_huge_bodies_produce_no_event_and_the_service_stays_up(
    js: JetStreamContext, settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:
    bodies = garbage_bodies(scaled(10_000, minimum=400))
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator) as (url, client),
    ):
        statuses: list[int] = []
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                statuses.append(
                    (
                        await client.post("/graph/notifications", content=body, headers=JSON)
                    ).status_code
                )

        await asyncio.gather(*(worker() for _ in range(16)))
        assert len(statuses) == len(bodies)
        assert set(statuses) <= {202, 400}, set(statuses)

        # Refused as too deep (400), or before parsing as more than a batch can hold (413).
        deep = b"[" * 200_000 + b"]" * 200_000
        assert (await client.post("/graph/lifecycle", content=deep, headers=JSON)).status_code in {
            400,
            413,
        }
        nested: Any = {"id": "m"}
        for _ in range(30):
            nested = {"a": nested}
        shallow_enough = {"value": [nested]}
        response = await client.post("/graph/notifications", json=shallow_enough)
        assert response.status_code == 400
        assert "nested" in response.json()["error"]

        wrong_type = await client.post(
            "/graph/notifications", content=b"{}", headers={"content-type": "text/html"}
        )
        assert wrong_type.status_code == 415

        huge = b'{"value": [' + b" " * (50 * 1024 * 1024) + b"]}"
        try:
            response = await client.post("/graph/notifications", content=huge, headers=JSON)
            assert response.status_code == 413
        except httpx.TransportError:
            pass  # the server may close the connection before the client finished sending

        async def chunks() -> Any:  # no Content-Length: the limit holds as the body streams in
            for _ in range(MAX_BODY_BYTES // (1024 * 1024) + 1):
                yield b" " * (1024 * 1024)

        async with httpx.AsyncClient(base_url=url, trust_env=False) as streaming:
            try:
                response = await streaming.post(
                    "/graph/notifications", content=chunks(), headers=JSON
                )
                assert response.status_code == 413
            except httpx.TransportError:
                pass

        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
    assert events.seen == []


async def test_nats_down_means_503_so_graph_retries(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    nats_server: NatsServer,
) -> None:
    async with running_ingest(settings, org, emulator) as (_url, client):
        subscription = await subscription_of(js, "post")
        nats_server.stop()
        started = asyncio.get_running_loop().time()
        response = await client.post(
            "/graph/notifications", json={"value": [change_item(subscription, "m1")]}
        )
        assert response.status_code == 503
        assert asyncio.get_running_loop().time() - started < 5


async def test_nats_down_means_503_also_for_an_unknown_subscription(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    nats_server: NatsServer,
) -> None:
    # An id the webhook does not know makes it read the subscriptions again, from KV.
    async with running_ingest(settings, org, emulator) as (_url, client):
        subscription = await subscription_of(js, "post")
        nats_server.stop()
        item = change_item(subscription, "m1", subscriptionId="not-ours")
        # The read waits for NATS's request timeout before it gives up.
        response = await client.post("/graph/notifications", json={"value": [item]}, timeout=60)
        assert response.status_code == 503


@pytest.mark.parametrize("content_length", ["abc", str(10**12)])
async def test_a_lying_content_length_is_refused_before_reading(content_length: str) -> None:
    scope = {"type": "http", "headers": [(b"content-length", content_length.encode())]}
    with pytest.raises(Refused) as refused:
        await read_limited(Request(scope), 1024)
    assert refused.value.status == 413
