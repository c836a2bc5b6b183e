"""The WebSak stand-in behind a gate that holds one answer: the archive has done the work, the
client never hears of it. A websak process killed while it waits is a crash right after that step.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from devtools.serving import bound_socket
from devtools.websak_standin.app import build_app
from devtools.websak_standin.runner import create_standin
from services.websak.config import load_placement

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass
class Gate:
    """Holds the answer to the `occurrence`-th request matching `method` and `path`."""

    method: str
    path: str
    occurrence: int = 1
    held: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    seen: int = 0

    def matches(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != self.method:
            return False
        if not re.fullmatch(self.path, scope["path"]):
            return False
        self.seen += 1
        return self.seen == self.occurrence


class GatedApp:
    def __init__(self, app: Any, gate: Gate) -> None:
        self._app = app
        self._gate = gate

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not self._gate.matches(scope):
            await self._app(scope, receive, send)
            return
        gate = self._gate

        async def held_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                gate.held.set()
                await gate.released.wait()
            await send(message)

        await self._app(scope, receive, held_send)


@contextlib.asynccontextmanager
async def gated_standin(data_dir: Path, gate: Gate) -> AsyncIterator[str]:
    """The stand-in on a free port behind `gate`; yields its URL."""
    standin = create_standin(data_dir, load_placement())
    sock = bound_socket("127.0.0.1", 0)
    config = uvicorn.Config(
        GatedApp(build_app(standin), gate), log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        gate.released.set()
        server.should_exit = True
        await task
        sock.close()
