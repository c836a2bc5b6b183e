"""Fixtures: the Graph emulator in-process with Sakspost's app registration (a web redirect
URI, public-client flows, a secret) and an operator application with an app role."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from devtools.graph_emulator import RunningEmulator, run_emulator
from devtools.graph_emulator.identity import AppRegistration
from sakspost.login import SakspostApp
from services.common.orgconfig import Organisation
from tests.graph_emulator.conftest import FAST

CLIENT_ID = "5a5a0000-0000-4000-8000-00000000a001"
CLIENT_SECRET = "overview-secret~value"
REDIRECT_URI = "http://127.0.0.1:8085/auth/callback"
OPERATOR_ID = "5a5a0000-0000-4000-8000-00000000a002"
OPERATOR_SECRET = "operator-secret~value"
OPERATOR_ROLES = ("Sakspost.Operate",)
STAFF = "hilde.sorbo@ha.kommune.no"


@dataclass(frozen=True)
class Login:
    running: RunningEmulator

    @property
    def tenant(self) -> str:
        return self.running.emulator.tenant_id

    @property
    def base(self) -> str:
        """The tenant's endpoints' prefix: `{authority}/{tenant}/oauth2/v2.0`."""
        return f"{self.running.login_url}/{self.tenant}/oauth2/v2.0"

    @property
    def issuer(self) -> str:
        return f"{self.running.login_url}/{self.tenant}/v2.0"

    @property
    def app(self) -> SakspostApp:
        return SakspostApp(self.running.login_url, self.tenant, CLIENT_ID, self.running.login_ca)

    def http(self) -> httpx.AsyncClient:
        context = ssl.create_default_context(cafile=str(self.running.login_ca))
        return httpx.AsyncClient(verify=context, trust_env=False)

    async def verified(self, token: str, audience: str = CLIENT_ID) -> dict[str, Any]:
        """The token's claims, verified as a service does: the signature against the JWKS the
        discovery document names, the issuer, the audience and the times."""
        async with self.http() as http:
            discovery = await http.get(f"{self.issuer}/.well-known/openid-configuration")
            keys = (await http.get(discovery.json()["jwks_uri"])).json()
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in keys["keys"] if k["kid"] == kid)
        claims: dict[str, Any] = jwt.decode(
            token,
            jwt.PyJWK.from_json(json.dumps(key)).key,
            algorithms=["RS256"],
            audience=audience,
            issuer=discovery.json()["issuer"],
            leeway=60,
            options={"require": ["exp", "nbf", "iat", "aud", "iss"]},
        )
        return claims


@pytest.fixture
async def login(org: Organisation) -> AsyncIterator[Login]:
    apps = [
        AppRegistration(
            CLIENT_ID, (CLIENT_SECRET,), redirect_uris=(REDIRECT_URI,), public_client=True
        ),
        AppRegistration(OPERATOR_ID, (OPERATOR_SECRET,), roles=OPERATOR_ROLES),
    ]
    async with run_emulator(org, timings=FAST, sign_in_apps=apps) as running:
        yield Login(running)
