"""ASGI middleware in front of the Graph routes: the bearer token (when the emulator issues
tokens), Graph's limits (when on, `limits.py`), fault switches, then the request log.

Limits and faults act per mailbox, so throttling one mailbox leaves the others answering, as with
Exchange's per app-and-mailbox limits.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devtools.graph_emulator.errors import error_response
from devtools.graph_emulator.faults import MailboxFaults
from devtools.graph_emulator.limits import (
    CONCURRENCY_MESSAGE,
    MailboxLimits,
    Refusal,
    limits_from_env,
)

if TYPE_CHECKING:
    from devtools.graph_emulator.emulator import Emulator

_USER_PATH = re.compile(r"^/v1\.0/users/([^/]+)")


class GraphGate:
    def __init__(self, app: ASGIApp, emulator: Emulator, routes: list[BaseRoute]) -> None:
        self._app = app
        self._emulator = emulator
        self._routes = routes
        limits = limits_from_env(os.environ)
        self._limits = MailboxLimits(limits) if limits is not None else None

    def _route_of(self, scope: Scope) -> str:
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", "?"))
        return "(no route)"

    def _refusal(
        self, address: str, faults: MailboxFaults | None, in_flight: int
    ) -> Refusal | None:
        """Why a request to `address` gets 429 before it runs: a concurrency switch or a limit."""
        limit = faults.concurrency_limit if faults is not None else None
        if faults is not None and limit is not None and in_flight >= limit:
            return Refusal(CONCURRENCY_MESSAGE, faults.retry_after)
        if self._limits is not None:
            return self._limits.admit(address, in_flight, time.monotonic())
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1.0/"):
            await self._app(scope, receive, send)
            return
        found = _USER_PATH.match(scope["path"])
        mailbox = self._emulator.store.mailbox(found.group(1)) if found else None
        address = mailbox.address if mailbox else None
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        board = self._emulator.faults
        faults = board.get(address) if address else None
        entered = False
        identity = self._emulator.identity
        try:
            if identity is not None and not identity.accepts(
                Headers(scope=scope).get("authorization")
            ):
                await error_response(
                    401, "InvalidAuthenticationToken",
                    "Access token is empty, expired or not issued for this app.",
                    {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
                )(scope, receive, recording_send)  # fmt: skip
                return
            if address is not None and (faults is not None or self._limits is not None):
                in_flight = board.in_flight.get(address, 0)
                refusal = self._refusal(address, faults, in_flight)
                if refusal is not None:
                    await error_response(
                        429, "ApplicationThrottled", refusal.message,
                        {"Retry-After": str(refusal.retry_after)},
                    )(scope, receive, recording_send)  # fmt: skip
                    return
                board.in_flight[address] = in_flight + 1
                entered = True
            if faults is not None:
                if faults.latency_ms:
                    await asyncio.sleep(faults.latency_ms / 1000)
                if faults.throttle.fire():
                    await error_response(
                        429, "TooManyRequests",
                        "Application is over its MailboxConcurrency limit or request quota.",
                        {"Retry-After": str(faults.retry_after)},
                    )(scope, receive, recording_send)  # fmt: skip
                    return
                if faults.server_error.fire():
                    await error_response(
                        faults.server_error_status, "ServiceUnavailable",
                        "The service is temporarily unavailable (emulated fault).",
                    )(scope, receive, recording_send)  # fmt: skip
                    return
            await self._app(scope, receive, recording_send)
        finally:
            if entered and address is not None:
                board.in_flight[address] -= 1
            route = self._route_of(scope)
            prefer = Headers(scope=scope).get("prefer")
            self._emulator.requests.record(scope["method"], route, address, status, prefer)
