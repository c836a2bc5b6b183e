"""Sign-in with Entra ID: OpenID Connect's authorization code flow with PKCE, through msal.

msal builds the flow (state, nonce, PKCE verifier and `code_challenge_method=S256`) and redeems
the code; the ID token it returns is then verified here by `BearerVerifier`, exactly as every
service verifies a command's token, and mapped to a staff member (`actors.py`). msal's calls block
(its HTTP client is `services/common/msalhttp.py`), so they run in a thread. The application
object is made at the first sign-in, not at start: making it reads the tenant's discovery
document, and the overview must start (and say it is alive) while Entra ID is unreachable.

Scopes are empty: msal adds `openid profile offline_access`, so the answer holds an ID token for
Sakspost's own app registration (the audience every service checks) and a refresh token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msal
from pydantic import SecretStr

from services.common.bearer import unverified_claims
from services.common.msalhttp import MsalHttpClient, tls_verification
from services.common.settings import AuthSettings
from services.common.tenantkeys import authority_url

CALLBACK_PATH = "/auth/callback"
# An ID token is refreshed this long before it expires, so a command never carries a stale one.
REFRESH_MARGIN_SECONDS = 300


class SignInFailed(Exception):
    """Entra ID refused, or the answer is not a sign-in: `reason` is a short code for the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Tokens:
    id_token: SecretStr
    refresh_token: SecretStr | None
    expires: float


def tokens_of(answer: Mapping[str, Any]) -> Tokens:
    """The tokens of msal's answer; raises `SignInFailed` for an error answer."""
    if "error" in answer or not isinstance(answer.get("id_token"), str):
        raise SignInFailed(str(answer.get("error") or "no_id_token"))
    id_token = str(answer["id_token"])
    expires = unverified_claims(id_token).get("exp")
    refresh = answer.get("refresh_token")
    return Tokens(
        SecretStr(id_token),
        SecretStr(refresh) if isinstance(refresh, str) else None,
        float(expires) if isinstance(expires, int | float) else time.time(),
    )


def needs_refresh(expires: float, now: float) -> bool:
    return expires - now < REFRESH_MARGIN_SECONDS


class SignIn:
    """Sakspost's app registration as a confidential client of the tenant."""

    def __init__(self, auth: AuthSettings, secret: SecretStr, redirect_uri: str) -> None:
        self._auth = auth
        self._secret = secret
        self.redirect_uri = redirect_uri
        self._authority = f"{authority_url(auth.authority)}/{auth.tenant_id}"
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = asyncio.Lock()
        self._end_session: str | None = None

    async def _client(self) -> msal.ConfidentialClientApplication:
        async with self._lock:
            if self._app is None:
                self._app = await asyncio.to_thread(
                    msal.ConfidentialClientApplication,
                    self._auth.client_id,
                    client_credential=self._secret.get_secret_value(),
                    authority=self._authority,
                    instance_discovery=False,
                    http_client=MsalHttpClient(self._auth.authority_ca_file),
                )
            return self._app

    async def begin(self) -> dict[str, Any]:
        """A new flow: msal's dict, whose `auth_uri` the browser is sent to; kept until the
        callback (it holds the PKCE verifier and nonce)."""
        client = await self._client()
        flow: dict[str, Any] = await asyncio.to_thread(
            client.initiate_auth_code_flow, scopes=[], redirect_uri=self.redirect_uri
        )
        return flow

    async def finish(self, flow: dict[str, Any], query: Mapping[str, str]) -> Tokens:
        """Redeem the code Entra ID sent back (msal checks state and nonce)."""
        client = await self._client()
        try:
            answer = await asyncio.to_thread(
                client.acquire_token_by_auth_code_flow, flow, dict(query)
            )
        except ValueError:  # msal: the state does not match, or the flow is not this one
            raise SignInFailed("state_mismatch") from None
        return tokens_of(answer)

    async def refresh(self, refresh_token: SecretStr) -> Tokens:
        client = await self._client()
        answer = await asyncio.to_thread(
            client.acquire_token_by_refresh_token, refresh_token.get_secret_value(), []
        )
        return tokens_of(answer)

    async def end_session_url(self) -> str | None:
        """The tenant's `end_session_endpoint` (read once from its discovery document)."""
        if self._end_session is None:
            discovery = f"{self._authority}/v2.0/.well-known/openid-configuration"
            try:
                verify = tls_verification(self._auth.authority_ca_file)
                async with httpx.AsyncClient(verify=verify, timeout=10.0) as http:
                    document = (await http.get(discovery)).raise_for_status().json()
            except (httpx.HTTPError, ValueError):
                return None
            found = document.get("end_session_endpoint")
            self._end_session = found if isinstance(found, str) else ""
        return self._end_session or None
