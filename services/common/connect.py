"""A command-line tool's one connection to NATS: its identity, a bounded wait, no reconnecting.

Services reconnect forever (`broker.py`); a command must instead say at once that NATS cannot be
reached or refuses its login, so it connects once and gives up after `CONNECT_TIMEOUT_SECONDS`,
raising `NatsUnavailable` with one line that says why.
"""

from __future__ import annotations

from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError

from services.common.credentials import CredentialsError, NatsLogin, login_for
from services.common.language import Language, in_language, language_of_the_command_line
from services.common.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5.0

_SAY: dict[str, dict[Language, str]] = {
    "refused": {
        "nn": "NATS på {servers} avviste innlogginga til {user} (sjekk SAKSPOST_NATS_USER og "
        "SAKSPOST_NATS_PASSWORD, eller mappa med innloggingsopplysningar)",
        "nb": "NATS på {servers} avviste innloggingen til {user} (sjekk SAKSPOST_NATS_USER og "
        "SAKSPOST_NATS_PASSWORD, eller mappen med innloggingsopplysninger)",
        "en": "NATS at {servers} refused the login of {user} (check SAKSPOST_NATS_USER and "
        "SAKSPOST_NATS_PASSWORD, or the credentials folder)",
    },
    "unreachable": {
        "nn": "får ikkje kontakt med NATS på {servers} innan {seconds} s ({reason})",
        "nb": "får ikke kontakt med NATS på {servers} innen {seconds} s ({reason})",
        "en": "cannot reach NATS at {servers} within {seconds} s ({reason})",
    },
    "no_login": {
        "nn": "inga NATS-innlogging for {identity}: SAKSPOST_NATS_USER er ikkje sett, og {path} "
        "finst ikkje (start med `sakspost up`, gi --data-dir, eller set SAKSPOST_NATS_USER og "
        "SAKSPOST_NATS_PASSWORD)",
        "nb": "ingen NATS-innlogging for {identity}: SAKSPOST_NATS_USER er ikke satt, og {path} "
        "finnes ikke (start med `sakspost up`, gi --data-dir, eller sett SAKSPOST_NATS_USER og "
        "SAKSPOST_NATS_PASSWORD)",
        "en": "no NATS login for {identity}: SAKSPOST_NATS_USER is not set and {path} does not "
        "exist (start with `sakspost up`, pass --data-dir, or set SAKSPOST_NATS_USER and "
        "SAKSPOST_NATS_PASSWORD)",
    },
}


class NatsUnavailable(RuntimeError):
    """NATS cannot be used by this command; the message is one line in the command line's
    language, with no password in it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(in_language(_SAY[key], language_of_the_command_line()).format(**values))


async def connect_login(login: NatsLogin, name: str, **overrides: Any) -> Client:
    """Connect once as `login` within the connect timeout, else raise `NatsUnavailable`.

    `overrides` change nats-py's options, e.g. a long-running tool that should reconnect.
    """

    async def reported(error: Exception) -> None:
        # nats-py reports a refused login here before raising; the default would print it.
        del error

    servers = ",".join(login.servers)
    options: dict[str, Any] = {
        "name": name,
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "allow_reconnect": False,
        # 0 would mean "try for ever" to nats-py: one attempt per server, then give up.
        "max_reconnect_attempts": 1,
        "error_cb": reported,
        **login.connect_options(),
        **overrides,
    }
    try:
        return await nats.connect(list(login.servers), **options)
    except (OSError, NatsError) as error:
        reason = str(error).strip() or type(error).__name__
        if "authorization" in reason.lower():
            raise NatsUnavailable(
                "refused", servers=servers, user=login.user or login.identity
            ) from None
        raise NatsUnavailable(
            "unreachable", servers=servers, seconds=f"{CONNECT_TIMEOUT_SECONDS:g}", reason=reason
        ) from None


async def connect_once(settings: Settings, identity: str, name: str) -> Client:
    """Connect once as `identity`: its login from the environment, else the credentials folder."""
    try:
        login = login_for(settings, identity)
    except CredentialsError as error:
        raise NatsUnavailable("no_login", identity=identity, path=error.path) from None
    return await connect_login(login, name)
