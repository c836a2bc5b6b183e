"""Fixtures: the Graph emulator in-process on free ports, a msgraph-sdk client pointed at it,
and a notification listener (a real HTTP endpoint on a free port)."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from msgraph.graph_service_client import GraphServiceClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from devtools.graph_emulator import RunningEmulator, Timings, run_emulator
from services.common.graph import make_graph_client
from services.common.orgconfig import Organisation

# Graph's times, shortened so retries and expiry show within a test.
FAST = Timings(
    batch_window=0.02,
    retry_initial=0.05,
    retry_max_delay=0.2,
    retry_give_up=1.5,
    expiry_sweep=0.05,
    flush_interval=0.05,
)
SHARED = "post@ha.kommune.no"
OTHER_SHARED = "bygg@ha.kommune.no"
PERSONAL = "elin.tjessem@ha.kommune.no"


def raw_mail(
    subject: str, *, to: str = SHARED, message_id: str | None = None, extra: str = ""
) -> bytes:
    """A small mail with CRLF line ends (SMTP's wire form, so it survives smtplib unchanged)."""
    mid = message_id or f"<{subject.replace(' ', '-')}@example.org>"
    text = (
        f"From: Kari Nordmann <kari@example.org>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 07 Sep 2026 10:00:00 +0200\r\nMessage-ID: {mid}\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hei, dette gjeld {subject}.\r\n"
    )
    return text.encode("utf-8")


@dataclass
class Listener:
    """An HTTP endpoint that answers Graph's validation and records what it receives."""

    url: str = ""
    notifications: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    lifecycle: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    validations: list[str] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # the validationTokens of every batch
    echo_wrong_token: bool = False
    refuse_next: int = 0  # answer this many change deliveries with 503 before accepting

    async def _receive(
        self, request: Request, queue: asyncio.Queue[dict[str, Any]], refusing: bool
    ) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            self.validations.append(request.url.path)
            return PlainTextResponse(token + "x" if self.echo_wrong_token else token)
        if refusing and self.refuse_next > 0:
            self.refuse_next -= 1
            return Response(status_code=503)
        body = await request.json()
        self.batches.append(len(body["value"]))
        self.tokens.extend(body.get("validationTokens", []))
        for item in body["value"]:
            queue.put_nowait(item)
        return Response(status_code=202)

    async def notify(self, request: Request) -> Response:
        return await self._receive(request, self.notifications, refusing=True)

    async def lifecycle_notify(self, request: Request) -> Response:
        return await self._receive(request, self.lifecycle, refusing=False)


async def next_item(queue: asyncio.Queue[dict[str, Any]], within: float = 1.0) -> dict[str, Any]:
    return await asyncio.wait_for(queue.get(), within)


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[int]:
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def other_host() -> AsyncIterator[tuple[str, list[tuple[str, str | None]]]]:
    """A server that is not Graph (reached as `localhost`, the emulator being `127.0.0.1`): its
    base URL and every (path, Authorization header) it received."""
    seen: list[tuple[str, str | None]] = []

    async def anything(request: Request) -> JSONResponse:
        seen.append((request.url.path, request.headers.get("authorization")))
        return JSONResponse({"value": []})

    app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])
    async with serve(app) as port:
        yield f"http://localhost:{port}", seen


@pytest.fixture
async def emulator(org: Organisation) -> AsyncIterator[RunningEmulator]:
    async with run_emulator(org, "127.0.0.1", 0, 0, timings=FAST) as running:
        yield running


@pytest.fixture
def graph(emulator: RunningEmulator) -> GraphServiceClient:
    return make_graph_client(emulator.graph_url)


@pytest.fixture
async def admin(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as client:
        yield client


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    state = Listener()
    app = Starlette(
        routes=[
            Route("/notify", state.notify, methods=["POST"]),
            Route("/lifecycle", state.lifecycle_notify, methods=["POST"]),
        ]
    )
    async with serve(app) as port:
        state.url = f"http://127.0.0.1:{port}"
        yield state


async def deliver(admin: httpx.AsyncClient, mailbox: str, raw: bytes) -> str:
    """Put a raw mail into a mailbox's Inbox through the admin API; its Graph id."""
    response = await admin.post(f"/_emulator/mailboxes/{mailbox}/deliver", content=raw)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def send_smtp(port: int, sender: str, recipients: list[str], raw: bytes) -> dict[str, Any]:
    """Deliver over SMTP with the standard library; the refused recipients."""

    def send() -> dict[str, Any]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            return dict(smtp.sendmail(sender, recipients, raw))

    return await asyncio.to_thread(send)


async def wait_until(condition: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Poll a condition until it holds; fail when the deadline passes first."""
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
