"""Connections as Sakspost's identities, closed when the test is done."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from nats.aio.client import Client

from services.common.connect import connect_login
from services.common.natsserver import NatsServer

Connect = Callable[[str], Awaitable[Client]]


@asynccontextmanager
async def identities(server: NatsServer) -> AsyncIterator[Connect]:
    """`connect(identity)` logs in as `identity`, with exactly its permissions."""
    opened: list[Client] = []

    async def connect(identity: str) -> Client:
        connection = await connect_login(server.login(identity), f"test-{identity}")
        opened.append(connection)
        return connection

    try:
        yield connect
    finally:
        for connection in opened:
            await connection.close()
