"""A command-line tool's one connection to NATS: its credentials, a bounded wait, no reconnecting.

Services reconnect forever (`broker.py`); a command must instead say at once that NATS cannot be
reached, so it connects once and gives up after `CONNECT_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.errors import NoServersError
from nats.errors import TimeoutError as NatsTimeoutError

from services.common.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5.0
# What nats-py raises when no server answers, the credentials are refused or time runs out.
UNREACHABLE = (OSError, NatsTimeoutError, NoServersError)


async def _reported_by_the_command(_error: Exception) -> None:
    """A command says what failed itself, in one line, from the exception it gets or from the
    connection's last error (a refused publish); nats-py's default callback would log every error
    with a traceback besides."""


async def connect_once(settings: Settings, name: str) -> Client:
    password = settings.nats_password.get_secret_value() if settings.nats_password else None
    return await nats.connect(
        settings.nats_servers,
        user=settings.nats_user,
        password=password,
        user_credentials=str(settings.nats_creds_file) if settings.nats_creds_file else None,
        name=name,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        allow_reconnect=False,
        # 0 would mean "try for ever" to nats-py: one attempt per server, then give up.
        max_reconnect_attempts=1,
        error_cb=_reported_by_the_command,
    )
