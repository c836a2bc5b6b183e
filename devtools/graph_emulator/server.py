"""Serving the emulator: HTTP (uvicorn) and SMTP (aiosmtpd) on the running event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import structlog
import uvicorn
from aiosmtpd.smtp import SMTP

from devtools.graph_emulator.app import build_app
from devtools.graph_emulator.emulator import Emulator
from devtools.graph_emulator.smtp_intake import IntakeHandler
from devtools.graph_emulator.timings import Timings
from devtools.serving import bound_socket
from services.common.orgconfig import Organisation

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RunningEmulator:
    host: str
    http_port: int
    smtp_port: int
    emulator: Emulator

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def graph_url(self) -> str:
        """What a Graph client takes as its base URL."""
        return f"{self.base_url}/v1.0"


@contextlib.asynccontextmanager
async def run_emulator(
    org: Organisation,
    host: str = "127.0.0.1",
    http_port: int = 0,
    smtp_port: int = 0,
    *,
    data_dir: Path | None = None,
    timings: Timings | None = None,
) -> AsyncIterator[RunningEmulator]:
    """Run the emulator on this event loop until the block ends; port 0 picks a free port."""
    emulator = Emulator(org, timings or Timings(), data_dir)
    await emulator.start()
    app = build_app(emulator)
    http_socket = bound_socket(host, http_port)
    # Graph keeps idle connections open for minutes; uvicorn's 5 s default closes one just as a
    # client under load reuses it (an httpx ReadError that real Graph would not cause).
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=120
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[http_socket]))
    loop = asyncio.get_running_loop()
    handler = IntakeHandler(emulator.store, emulator.postman)
    smtp = await loop.create_server(
        partial(SMTP, handler, hostname="graph-emulator.local", loop=loop), host, smtp_port
    )
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        app.state.ready = True
        running = RunningEmulator(
            host, http_socket.getsockname()[1], smtp.sockets[0].getsockname()[1], emulator
        )
        log.info("emulator_started", http_port=running.http_port, smtp_port=running.smtp_port)
        yield running
    finally:
        app.state.ready = False
        smtp.close()
        await smtp.wait_closed()
        server.should_exit = True
        await serving
        http_socket.close()
        await emulator.close()
