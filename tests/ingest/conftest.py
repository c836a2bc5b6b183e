"""Fixtures for ingest: the Graph emulator on free ports, ingest served over real HTTP (Graph's
validation handshake and notifications need a listening endpoint), mail sent over SMTP."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from nats.js import JetStreamContext

from devtools.graph_emulator import RunningEmulator, run_emulator
from services.common.app import ServiceApp
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.ingest.app import build
from services.ingest.config import IngestSettings
from services.ingest.work import WORK_STREAM
from tests.graph_emulator.conftest import FAST, free_socket, raw_mail, send_smtp
from tests.support.tokens import Issuer

__all__ = ["raw_mail", "send_smtp"]

# Short lease and upkeep so takeover and catch-up show within a test.
QUICK = IngestSettings(lease_seconds=1.5, upkeep_interval_seconds=0.3)


@pytest.fixture
async def emulator(org: Organisation) -> AsyncIterator[RunningEmulator]:
    async with run_emulator(org, "127.0.0.1", 0, 0, timings=FAST) as running:
        yield running


@pytest.fixture
async def admin(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as client:
        yield client


def ingest_settings(settings: Settings, emulator: RunningEmulator, **changes: Any) -> Settings:
    """Ingest's settings: Graph is the emulator's, and so is the Entra ID of commands' tokens."""
    return Issuer.of(emulator).settings(
        settings.model_copy(update={"graph_base_url": emulator.graph_url, **changes})
    )


@asynccontextmanager
async def serving(
    service: ServiceApp, port_socket: socket.socket | None = None
) -> AsyncIterator[str]:
    """Serve a service's ASGI app (lifespan included) on a free port; its base URL."""
    sock = port_socket or free_socket()
    config = uvicorn.Config(service.app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def running_ingest(
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    ingest: IngestSettings = QUICK,
    sock: socket.socket | None = None,
    **changes: Any,
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """Ingest serving on a free port, working (every mailbox subscribed); its URL and a client."""
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    service = build(ingest_settings(settings, emulator, http_port=port, **changes), org, ingest)
    async with (
        serving(service, sock) as url,
        httpx.AsyncClient(base_url=url, trust_env=False) as client,
    ):
        await wait_working(client)
        yield url, client


async def wait_working(client: httpx.AsyncClient, within: float = 20.0) -> None:
    """Until /statusz says ingest is working: ready, and every mailbox subscribed (polling a probe
    is what Kubernetes does, too)."""
    deadline = asyncio.get_running_loop().time() + within
    problems: object = None
    while True:
        try:
            response = await client.get("/statusz")
            if response.status_code == 200:
                return
            body = response.json()
            problems = [*body["problems"], *body["pending"]]
        except httpx.TransportError as error:
            problems = type(error).__name__
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"ingest not working in {within} s: {problems}")
        await asyncio.sleep(0.05)


SHARED_ADDRESSES = (
    "post@ha.kommune.no",
    "teknisk@ha.kommune.no",
    "stab@ha.kommune.no",
    "skule@ha.kommune.no",
    "kultur@ha.kommune.no",
    "bygg@ha.kommune.no",
    "it@ha.kommune.no",
    "helse@ha.kommune.no",
)


async def send_many(port: int, mails: list[tuple[str, bytes]]) -> None:
    """Deliver (recipient, raw) pairs over one SMTP connection."""

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for recipient, raw in mails:
                refused = smtp.sendmail("kari@example.org", [recipient], raw)
                assert not refused, refused

    await asyncio.to_thread(send)


def spread_mails(count: int, tag: str) -> list[tuple[str, bytes]]:
    """`count` distinct mails spread over the eight official addresses."""
    mails = []
    for number in range(count):
        to = SHARED_ADDRESSES[number % len(SHARED_ADDRESSES)]
        mails.append((to, raw_mail(f"{tag} {number}", to=to)))
    return mails


async def work_drained(js: JetStreamContext) -> bool:
    """The fetchers have acknowledged everything stored for them (a work queue empties)."""
    info = await js.stream_info(WORK_STREAM)
    return bool(info.state.messages == 0)
