"""The app registrations of the local stack's sign-in, and their secrets in the credentials
folder (mode 0600, kept across restarts like the NATS logins).

- Sakspost's own app (`APPLICATION_ID`): the overview's redirect URIs, public-client flows (the
  command line's device code), and a secret for the overview's code flow, in
  `sakspost-app.env` as `SAKSPOST_OVERVIEW_CLIENT_SECRET`.
- One operator application (`OPERATOR_APPLICATION_ID`, fixed so that the organisation file can
  list it under `operators`): `operator-app.env` with `SAKSPOST_OPERATOR_CLIENT_ID` and
  `SAKSPOST_OPERATOR_CLIENT_SECRET`, which the command line uses as they stand
  (`set -a; . operator-app.env; set +a`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path

from devtools.graph_emulator.emulator import APPLICATION_ID, OPERATOR_APPLICATION_ID
from devtools.graph_emulator.identity import AppRegistration
from services.common.credentials import ensure_key, read_env_file, write_env_file

APP_FILE = "sakspost-app.env"
APP_SECRET_VARIABLE = "SAKSPOST_OVERVIEW_CLIENT_SECRET"  # noqa: S105 - a name, not a secret
OPERATOR_APP_FILE = "operator-app.env"
OPERATOR_ID_VARIABLE = "SAKSPOST_OPERATOR_CLIENT_ID"
OPERATOR_SECRET_VARIABLE = "SAKSPOST_OPERATOR_CLIENT_SECRET"  # noqa: S105 - a name


def ensure_local_apps(credentials_dir: Path) -> None:
    """Both apps' secrets, made on first use and then kept."""
    ensure_key(credentials_dir / APP_FILE, APP_SECRET_VARIABLE)
    operator = credentials_dir / OPERATOR_APP_FILE
    if operator.exists() and read_env_file(operator).get(OPERATOR_SECRET_VARIABLE):
        return
    write_env_file(
        operator,
        {
            OPERATOR_ID_VARIABLE: OPERATOR_APPLICATION_ID,
            OPERATOR_SECRET_VARIABLE: secrets.token_hex(32),
        },
    )


def _secret(path: Path, variable: str) -> tuple[str, ...]:
    value = read_env_file(path).get(variable) if path.exists() else None
    return (value,) if value else ()


def local_registrations(
    credentials_dir: Path | None, redirect_uris: Sequence[str]
) -> tuple[AppRegistration, ...]:
    """Sakspost's app (with its secret when the folder holds one) and, when the folder holds
    its secret, the operator application."""
    folder = credentials_dir
    sakspost = AppRegistration(
        APPLICATION_ID,
        _secret(folder / APP_FILE, APP_SECRET_VARIABLE) if folder else (),
        redirect_uris=tuple(redirect_uris),
        public_client=True,
    )
    operator_secret = (
        _secret(folder / OPERATOR_APP_FILE, OPERATOR_SECRET_VARIABLE) if folder else ()
    )
    operator = AppRegistration(OPERATOR_APPLICATION_ID, operator_secret)
    return (sakspost, operator) if operator_secret else (sakspost,)
