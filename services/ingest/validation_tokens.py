"""Graph's `validationTokens`: proof that a batch with resource data comes from Graph.

Each token is a JWT that Entra ID issued for our tenant to our app on behalf of Graph's
change-tracking app. It is trusted only when its RS256 signature verifies with a key the tenant
publishes (the JWKS its OpenID discovery document names, fetched over TLS and cached; an unknown
`kid` refetches it, at most once a minute, as Entra rotates keys), its issuer is the tenant's (v2
or v1), its audience our app id, `azp`/`appid` Graph's change-tracking app, and it is within
`nbf`/`exp` (5 minutes' skew). Checking is pure (`check_token`); fetching is `TenantKeys`.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
import structlog

log = structlog.get_logger(__name__)

GRAPH_CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
CLOCK_SKEW_SECONDS = 300
REFETCH_SECONDS = 60.0
MAX_TOKENS = 16
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"


class InvalidToken(ValueError):
    """A validation token that does not prove the batch comes from Graph."""


class KeysUnavailable(RuntimeError):
    """The tenant's keys could not be fetched: the batch cannot be judged now (503, retried)."""


def authority_url(authority: str | None) -> str:
    """The Entra ID authority as a URL (a bare host, as azure-identity also takes, gets https)."""
    value = (authority or DEFAULT_AUTHORITY).rstrip("/")
    return value if "://" in value else f"https://{value}"


def tenant_issuers(discovered: str, tenant: str) -> tuple[str, ...]:
    """The issuers a token of `tenant` may name: the discovery document's (v2) and the v1 one."""
    return (discovered.replace("{tenantid}", tenant), f"https://sts.windows.net/{tenant}/")


def check_token(
    token: str,
    keys: Mapping[str, Any],
    issuers: Sequence[str],
    audience: str,
) -> None:
    """Raise `InvalidToken` unless `token` is a validation token Graph sent to `audience`."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        raise InvalidToken("not a JWT") from None
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("signed with a key the tenant does not publish")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuers,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["aud", "iss", "exp", "nbf"], "verify_iat": False},
        )
    except jwt.InvalidTokenError as error:
        raise InvalidToken(type(error).__name__) from None
    if GRAPH_CHANGE_TRACKING_APP_ID not in (claims.get("azp"), claims.get("appid")):
        raise InvalidToken("not issued on behalf of Graph's change tracking")


class TenantKeys:
    """The tenant's issuer and signing keys, from its OpenID discovery document, cached."""

    def __init__(self, authority: str, tenant: str, ca_file: Path | None) -> None:
        self._discovery = f"{authority}/{tenant}/v2.0/.well-known/openid-configuration"
        self.tenant = tenant
        # Read at each fetch, not at start: locally the emulator writes it when it starts.
        self._ca_file = ca_file
        self._issuers: tuple[str, ...] = ()
        self._jwks_uri: str | None = None
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")

    async def _fetch(self) -> None:
        verify: ssl.SSLContext | bool = True
        if self._ca_file is not None:
            verify = ssl.create_default_context(cafile=str(self._ca_file))
        async with httpx.AsyncClient(verify=verify, timeout=10.0) as http:
            if self._jwks_uri is None:
                document = (await http.get(self._discovery)).raise_for_status().json()
                self._issuers = tenant_issuers(str(document["issuer"]), self.tenant)
                self._jwks_uri = str(document["jwks_uri"])
            jwks = (await http.get(self._jwks_uri)).raise_for_status().json()
        found = jwt.PyJWKSet.from_dict(jwks)
        self._keys = {k.key_id: k.key for k in found.keys if k.key_id}
        self._fetched_at = time.monotonic()

    async def keys_for(self, tokens: Sequence[str]) -> tuple[Mapping[str, Any], Sequence[str]]:
        """The keys (by kid) and issuers to check `tokens` with; refetched when a token names a
        kid not seen yet, at most once a minute."""
        wanted: set[str] = set()
        for token in tokens:
            try:
                kid = jwt.get_unverified_header(token).get("kid")
            except jwt.InvalidTokenError:
                continue
            if isinstance(kid, str):
                wanted.add(kid)
        due = time.monotonic() - self._fetched_at >= REFETCH_SECONDS
        if not self._keys or (not wanted <= set(self._keys) and due):
            try:
                await self._fetch()
            except (httpx.HTTPError, OSError, ValueError, KeyError, jwt.PyJWKError) as error:
                log.error("tenant signing keys not fetched", error=type(error).__name__)
                if not self._keys:
                    raise KeysUnavailable(type(error).__name__) from None
        return self._keys, self._issuers


async def check_tokens(keys: TenantKeys, tokens: Sequence[str], audience: str) -> None:
    """Raise `InvalidToken` unless there are tokens and every one is valid (Graph sends one per
    app and tenant; every one of them must be ours)."""
    if not tokens or len(tokens) > MAX_TOKENS:
        raise InvalidToken("no validation tokens" if not tokens else "too many tokens")
    known, issuers = await keys.keys_for(tokens)
    for token in tokens:
        check_token(token, known, issuers, audience)
