"""An Entra ID tenant's issuer and signing keys, as a token's reader finds them.

The keys are the JWKS the tenant's OpenID discovery document names, fetched over TLS and cached;
a token naming an unknown `kid` refetches them, at most once a minute, as Entra ID rotates its keys
without notice. Graph's validation tokens (ingest) and people's and operators' tokens on commands
(`bearer.py`) are both checked against them.
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

REFETCH_SECONDS = 60.0
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"


class KeysUnavailable(RuntimeError):
    """The tenant's keys could not be fetched and none are cached: nothing can be judged now."""


def authority_url(authority: str | None) -> str:
    """The Entra ID authority as a URL (a bare host, as azure-identity also takes, gets https)."""
    value = (authority or DEFAULT_AUTHORITY).rstrip("/")
    return value if "://" in value else f"https://{value}"


def tenant_issuers(discovered: str, tenant: str) -> tuple[str, ...]:
    """The issuers a token of `tenant` may name: the discovery document's (v2) and the v1 one."""
    return (discovered.replace("{tenantid}", tenant), f"https://sts.windows.net/{tenant}/")


def key_id(token: str) -> str | None:
    """The `kid` a JWT's header names; None for anything that is not a JWT naming one."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None
    return kid if isinstance(kid, str) else None


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
        kid not seen yet, at most once a minute. Raises `KeysUnavailable` when none are known."""
        wanted = {kid for kid in map(key_id, tokens) if kid is not None}
        due = time.monotonic() - self._fetched_at >= REFETCH_SECONDS
        if not self._keys or (not wanted <= set(self._keys) and due):
            try:
                await self._fetch()
            except (httpx.HTTPError, OSError, ValueError, KeyError, jwt.PyJWKError) as error:
                log.error("tenant signing keys not fetched", error=type(error).__name__)
                if not self._keys:
                    raise KeysUnavailable(type(error).__name__) from None
        return self._keys, self._issuers
