"""Malformed MIME never breaks the emulator; the CLI serves /healthz and /readyz."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest
from msgraph.graph_service_client import GraphServiceClient

from services.common.graph import get_mime
from tests.graph_emulator.conftest import SHARED, deliver, free_socket

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


async def test_every_malformed_mail_can_be_read_through_graph(
    graph: GraphServiceClient, admin: httpx.AsyncClient, mime_edge: Path
) -> None:
    files = sorted(p for p in mime_edge.iterdir() if p.suffix == ".eml")
    assert files

    async def check(path: Path) -> None:
        raw = path.read_bytes()
        message_id = await deliver(admin, SHARED, raw)
        message = await graph.users.by_user_id(SHARED).messages.by_message_id(message_id).get()
        assert message.id == message_id
        assert await get_mime(graph, SHARED, message_id) == raw

    await asyncio.gather(*(check(path) for path in files))


async def test_the_command_line_serves_health_and_readiness(tmp_path: Path) -> None:
    http_sock, smtp_sock = free_socket(), free_socket()
    http_port, smtp_port = http_sock.getsockname()[1], smtp_sock.getsockname()[1]
    http_sock.close()
    smtp_sock.close()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devtools.graph_emulator",
        "--org",
        str(REPO / "config" / "ha-kommune.yaml"),
        "--port",
        str(http_port),
        "--smtp-port",
        str(smtp_port),
        "--data-dir",
        str(tmp_path),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = b""
        while f":{http_port}/v1.0".encode() not in banner:  # log lines come first
            banner = await asyncio.wait_for(process.stdout.readline(), 30)
            assert banner, "the emulator exited before it was ready"
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{http_port}", trust_env=False
        ) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
