"""Signing in as a person against the running test stack's Entra ID (the Graph emulator), by the
real flow: msal's device code flow for Sakspost's app registration, approved on the emulator's
`/device` page as that person, as they would in a browser.

    from tests.support.signin import id_token_for

    token = await id_token_for(stack, "hilde.sorbo@ha.kommune.no")
    headers = {"Authorization": f"Bearer {token}"}

The ID token is signed by the emulator's key (its JWKS verifies it), issued by
`{SAKSPOST_GRAPH_AUTHORITY}/{SAKSPOST_AUTH_TENANT_ID}/v2.0` to `SAKSPOST_AUTH_CLIENT_ID`, valid an
hour, with `oid`, `preferred_username` (the address), `name` and `tid`. Any address signs in: one
not on staff gets a token as well, to show that Sakspost refuses it. The operator application's
token: `operator_token_for(stack)`. `sakspost login --as ADDRESS` does the same for the command
line (with `XDG_CACHE_HOME` pointing at a test's folder)."""

from __future__ import annotations

import asyncio

from devtools.graph_emulator.device_approval import approve_device_code
from devtools.graph_emulator.local_apps import (
    OPERATOR_APP_FILE,
    OPERATOR_ID_VARIABLE,
    OPERATOR_SECRET_VARIABLE,
)
from sakspost.login import device_login, operator_token, sakspost_app
from services.common.credentials import CREDENTIALS_FOLDER, read_env_file
from tests.support.stack import RunningStack


async def id_token_for(stack: RunningStack, email: str) -> str:
    """A valid ID token for the person with this address, from the stack's Entra ID."""
    app = sakspost_app(stack.settings())

    def approve(uri: str, code: str) -> None:
        approve_device_code(uri, code, email, app.ca_file)

    return await asyncio.to_thread(device_login, app, None, approve)


async def operator_token_for(stack: RunningStack) -> str:
    """The operator application's client-credentials token for Sakspost's API (`sakspost up`
    made the application's secret in the credentials folder)."""
    app = sakspost_app(stack.settings())
    operator = read_env_file(stack.data_dir / CREDENTIALS_FOLDER / OPERATOR_APP_FILE)
    return await asyncio.to_thread(
        operator_token, app, operator[OPERATOR_ID_VARIABLE], operator[OPERATOR_SECRET_VARIABLE]
    )
