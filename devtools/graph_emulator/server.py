"""Serving the emulator: HTTP (uvicorn) and SMTP (aiosmtpd) on the running event loop, and with
its login host (HTTPS: Entra ID's discovery, sign-in and token endpoint) on a port of its own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from aiosmtpd.smtp import SMTP
from starlette.types import ASGIApp

from devtools.graph_emulator.app import build_app
from devtools.graph_emulator.emulator import Emulator
from devtools.graph_emulator.entra import discovery_routes
from devtools.graph_emulator.identity import AppRegistration, write_tls_files
from devtools.graph_emulator.login_host import login_app
from devtools.graph_emulator.signin import SignIn
from devtools.graph_emulator.smtp_intake import IntakeHandler
from devtools.graph_emulator.timings import Timings
from devtools.serving import bound_socket
from services.common.orgconfig import Organisation

log = structlog.get_logger(__name__)

# In a data directory: the login host's TLS certificate, for clients in other processes.
LOGIN_CA_FILE = "login-ca.pem"


@dataclass(frozen=True)
class RunningEmulator:
    host: str
    http_port: int
    smtp_port: int
    emulator: Emulator
    # Entra ID's login host: the authority a credential takes and tokens are checked against
    # (https://host:port), and the certificate its TLS is checked against.
    login_url: str
    login_ca: Path
    # Sakspost's own sign-in on the login host (codes, device codes, refresh tokens).
    sign_in: SignIn

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def graph_url(self) -> str:
        """What a Graph client takes as its base URL."""
        return f"{self.base_url}/v1.0"


@contextlib.asynccontextmanager
async def _serve_http(app: ASGIApp, sock: socket.socket, **config: Any) -> AsyncIterator[None]:
    """uvicorn serving `app` on `sock` until the block ends; `config` adds uvicorn options."""
    # Graph keeps idle connections open for minutes; uvicorn's 5 s default closes one just as a
    # client under load reuses it (an httpx ReadError that real Graph would not cause).
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=120,
            **config,
        )
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await serving
        sock.close()


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())


@contextlib.asynccontextmanager
async def run_emulator(
    org: Organisation,
    host: str = "127.0.0.1",
    http_port: int = 0,
    smtp_port: int = 0,
    *,
    data_dir: Path | None = None,
    timings: Timings | None = None,
    app_registration: AppRegistration | None = None,
    login_port: int = 0,
    login_ca_copy: Path | None = None,
    sign_in_apps: Sequence[AppRegistration] = (),
) -> AsyncIterator[RunningEmulator]:
    """Run the emulator on this event loop until the block ends; port 0 picks a free port.

    With `app_registration` the Graph routes require tokens from the emulator's login host.
    `sign_in_apps`: the registrations people and operator apps sign in to (Sakspost's own).
    `login_ca_copy`: where the login host's certificate is also written, for other processes."""
    emulator = Emulator(org, timings or Timings(), data_dir, app_registration)
    await emulator.start()
    app = build_app(emulator)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(emulator.close)
        http_socket = bound_socket(host, http_port)
        await stack.enter_async_context(_serve_http(app, http_socket))
        # The login host (TLS, as Entra ID's): the discovery document, signing keys, sign-in
        # and token endpoint.
        tls = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="graph-login-")))
        login_ca, login_key = write_tls_files(tls, [host])
        if login_ca_copy is not None:
            _copy(login_ca, login_ca_copy)
        login_socket = bound_socket(host, login_port)
        login_url = f"https://{host}:{login_socket.getsockname()[1]}"
        emulator.authority = login_url
        names = frozenset({org.domain.lower()})
        discovery = discovery_routes(emulator.signing_key, emulator.tenant_id, names, login_url)
        sign_in = SignIn(
            org,
            emulator.tenant_id,
            names,
            {app.client_id: app for app in sign_in_apps},
            emulator.signing_key,
            emulator.clock,
            login_url,
        )
        await stack.enter_async_context(
            _serve_http(
                login_app(emulator.identity, discovery, sign_in),
                login_socket,
                ssl_certfile=str(login_ca),
                ssl_keyfile=str(login_key),
            )
        )
        loop = asyncio.get_running_loop()
        handler = IntakeHandler(emulator.store, emulator.postman)
        smtp = await loop.create_server(
            partial(SMTP, handler, hostname="graph-emulator.local", loop=loop), host, smtp_port
        )
        stack.push_async_callback(smtp.wait_closed)
        stack.callback(smtp.close)
        app.state.ready = True
        stack.callback(setattr, app.state, "ready", False)
        running = RunningEmulator(
            host,
            http_socket.getsockname()[1],
            smtp.sockets[0].getsockname()[1],
            emulator,
            login_url,
            login_ca,
            sign_in,
        )
        log.info("emulator_started", http_port=running.http_port, smtp_port=running.smtp_port)
        yield running
