"""Sending a command as the CLI and the overview do: request-reply on `sakspost.cmd.<verb>`,
the actor's token in the `Authorization` header (none: a request without identity)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from nats.aio.client import Client

from schemas.commands import Verb
from tests.support.tokens import bearer

# Verbs that change nothing carry no request id.
_READS = (Verb.LIST, Verb.SHOW)


async def ask(connection: Client, verb: Verb, token: str | None, **body: Any) -> dict[str, Any]:
    """The service's reply to `body` (a fresh `request_id` added unless given)."""
    if verb not in _READS:
        body.setdefault("request_id", uuid.uuid4().hex)
    answer = await connection.request(
        verb.subject,
        json.dumps(body).encode(),
        timeout=15,
        headers=bearer(token) if token is not None else None,
    )
    reply: dict[str, Any] = json.loads(answer.data)
    return reply
