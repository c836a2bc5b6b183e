"""Ingest's readiness on a first deploy: Graph validates a new subscription by calling the webhook
through the Kubernetes Service, and a Service sends traffic to ready pods only. So /readyz must not
wait for subscriptions (it reports them as pending); /statusz is the check that waits for them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from devtools.graph_emulator import RunningEmulator
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.ingest.app import build
from tests.graph_emulator.conftest import free_socket
from tests.ingest.conftest import QUICK, ingest_settings, running_ingest, serving


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.close()


@asynccontextmanager
async def service_in_front(pod_port: int) -> AsyncIterator[str]:
    """A stand-in for a Kubernetes Service: it forwards a connection to the pod only while the
    pod's /readyz answers 200, and otherwise refuses it, as a Service without ready endpoints
    does. Its base URL."""
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=2) as probe:
                try:
                    ready = (await probe.get(f"http://127.0.0.1:{pod_port}/readyz")).is_success
                except httpx.HTTPError:
                    ready = False
            if not ready:
                writer.close()
                return
            pod_reader, pod_writer = await asyncio.open_connection("127.0.0.1", pod_port)
            await asyncio.gather(_pipe(reader, pod_writer), _pipe(pod_reader, writer))
        finally:
            handlers.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        await server.wait_closed()


async def test_first_deploy_behind_a_service_subscribes_every_mailbox(
    settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:
    """Had /readyz waited for subscriptions, the Service would refuse Graph's validation call and
    no subscription would ever be made: running_ingest waits for /statusz, every one subscribed."""
    sock = free_socket()
    async with service_in_front(sock.getsockname()[1]) as public_url:
        config = QUICK.model_copy(update={"public_url": public_url})
        async with running_ingest(settings, org, emulator, config, sock) as (_url, client):
            status = (await client.get("/statusz")).json()
    assert status == {"service": "ingest", "ready": True, "problems": [], "pending": []}


async def test_ready_without_subscriptions_and_says_they_are_pending(
    settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:
    # Graph cannot reach this public URL: nothing listens on it, so no subscription can be made.
    unreachable = free_socket()
    public_url = f"http://127.0.0.1:{unreachable.getsockname()[1]}"
    unreachable.close()
    config = QUICK.model_copy(update={"public_url": public_url})
    service = build(ingest_settings(settings, emulator), org, config)
    async with (
        serving(service) as url,
        httpx.AsyncClient(base_url=url, trust_env=False) as client,
    ):
        readyz = await _until_ready(client)
        statusz = await client.get("/statusz")
    pending = [f"subscriptions: {len(org.departments)} mailboxes not watched"]
    assert readyz.json() == {"service": "ingest", "ready": True, "problems": [], "pending": pending}
    assert statusz.status_code == 503
    assert statusz.json()["pending"] == pending


async def _until_ready(client: httpx.AsyncClient, within: float = 20.0) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await client.get("/readyz")
        if response.status_code == 200:
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"ingest not ready in {within} s: {response.text}")
        await asyncio.sleep(0.05)
