"""Bearer tokens for WebSak: a static one from the environment, or OAuth 2 client credentials.

A client-credentials token is cached until shortly before it expires, and dropped when WebSak
answers 401 (revoked early), so the next call fetches a fresh one. A static token cannot be renewed:
a 401 with it is a refusal an operator must fix.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

import httpx
import structlog

from services.websak.archive import PermanentArchiveError, TransientArchiveError

log = structlog.get_logger(__name__)

# Renew this long before the stated expiry, so a token never expires in flight.
EXPIRY_MARGIN_S = 30.0


class TokenSource(Protocol):
    @property
    def renewable(self) -> bool: ...

    async def token(self) -> str: ...

    def invalidate(self) -> None: ...


class StaticToken:
    renewable = False

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        """Nothing to renew: the caller reports the refusal."""


class ClientCredentialsToken:
    renewable = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
    ) -> None:
        self._client = client
        self._token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        }
        self._cached: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._cached is not None and time.monotonic() < self._cached[1]:
                return self._cached[0]
            token, lifetime = await self._fetch()
            self._cached = (token, time.monotonic() + max(lifetime - EXPIRY_MARGIN_S, 0.0))
            return token

    def invalidate(self) -> None:
        self._cached = None

    async def _fetch(self) -> tuple[str, float]:
        try:
            response = await self._client.post(self._token_url, data=self._form)
        except httpx.HTTPError as error:
            raise TransientArchiveError(
                f"token endpoint unreachable ({type(error).__name__})", operation="token"
            ) from error
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientArchiveError(
                "token endpoint failed", status=response.status_code, operation="token"
            )
        if response.status_code != 200:
            raise PermanentArchiveError(
                "token endpoint refused the client credentials",
                status=response.status_code,
                operation="token",
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as error:
            raise PermanentArchiveError(
                "token endpoint gave no access_token", status=200, operation="token"
            ) from error
        log.info("websak_token_fetched", expires_in=lifetime)
        return token, lifetime
