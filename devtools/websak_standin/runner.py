"""Run the stand-in in this process: `async with run_standin(data_dir) as standin:`.

The listening socket is bound before the server starts, so the URL is known at once (port 0 picks
a free port) and a request sent early waits in the backlog instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from devtools.serving import bound_socket
from devtools.websak_standin.app import StandIn, build_app
from devtools.websak_standin.store import Store
from devtools.websak_standin.switches import Faults, Tokens
from services.websak.config import DEFAULT_PLACEMENT_FILE, WebSakPlacement, load_placement

DEFAULT_TOKEN = "dev-token"  # noqa: S105 (a development stand-in's well-known token)
DEFAULT_CLIENT_ID = "sakspost"
DEFAULT_CLIENT_SECRET = "dev-secret"  # noqa: S105


@dataclass(frozen=True, slots=True)
class RunningStandIn:
    url: str
    state: StandIn

    @property
    def token_url(self) -> str:
        return f"{self.url}/connect/token"


def create_standin(
    data_dir: Path,
    placement: WebSakPlacement,
    *,
    static_tokens: frozenset[str] = frozenset({DEFAULT_TOKEN}),
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    token_ttl_s: float = 3600.0,
) -> StandIn:
    return StandIn(
        store=Store(data_dir, placement),
        faults=Faults(),
        tokens=Tokens(
            static=static_tokens,
            client_id=client_id,
            client_secret=client_secret,
            ttl_s=token_ttl_s,
        ),
    )


def make_server(standin: StandIn) -> uvicorn.Server:
    # Long idle keep-alive, as a real API gateway has (uvicorn's 5 s races a client under load).
    config = uvicorn.Config(
        build_app(standin),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=120,
    )
    return uvicorn.Server(config)


@contextlib.asynccontextmanager
async def run_standin(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    placement: WebSakPlacement | None = None,
    token_ttl_s: float = 3600.0,
) -> AsyncIterator[RunningStandIn]:
    standin = create_standin(
        data_dir, placement or load_placement(DEFAULT_PLACEMENT_FILE), token_ttl_s=token_ttl_s
    )
    sock = bound_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    server = make_server(standin)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield RunningStandIn(url=f"http://{bound_host}:{bound_port}", state=standin)
    finally:
        server.should_exit = True
        await task
        sock.close()
