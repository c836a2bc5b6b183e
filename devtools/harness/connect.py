"""The development tools' connections to a stack's NATS: each with the identity it needs (admin to
inspect streams and consumers, integrator to watch events), from the stack's credentials folder.
Nothing connects anonymously; the server refuses that.
"""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client

from services.common.connect import NatsUnavailable, connect_login
from services.common.credentials import CredentialsError, login_for
from services.common.settings import Settings

# A fault-injection run restarts NATS under a long-lived connection: it must come back by itself.
RECONNECTING: dict[str, Any] = {
    "allow_reconnect": True,
    "max_reconnect_attempts": -1,
    "reconnect_time_wait": 0.5,
}


async def connect_as(
    settings: Settings, identity: str, name: str, *, reconnecting: bool = False
) -> Client:
    """Connect as `identity` (its login from the environment, else the credentials folder);
    `reconnecting` keeps the connection through NATS restarts."""
    try:
        login = login_for(settings, identity)
    except CredentialsError as error:
        raise NatsUnavailable("no_login", identity=identity, path=error.path) from None
    return await connect_login(login, name, **(RECONNECTING if reconnecting else {}))
