"""Verifying the token a command carries: who is asking, proven by Entra ID (issue 19).

Every command names its actor only through the header `Authorization: Bearer <jwt>`: a person's ID
token (the overview's sign-in, `sakspost login`) or an operator's application token (client
credentials for `<SAKSPOST_AUTH_CLIENT_ID>/.default`). The service that owns the state verifies it
here: RS256 with a key the tenant publishes (`tenantkeys.py`), the tenant's issuer, Sakspost's own
client id as audience, within `nbf`/`exp` (one minute's skew), and then who it names
(`actors.py`). A body's `by` is never read: it is whatever the caller writes.

The token itself is never logged; a refusal carries what the token claims (`claimed`), unverified,
so the log can say who tried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import jwt

from schemas.commands import AUTHORIZATION_HEADER
from services.common.actors import Actor, UnknownActor, claimed_name, identify
from services.common.orgconfig import Organisation
from services.common.settings import AuthSettings
from services.common.tenantkeys import KeysUnavailable, TenantKeys, authority_url, key_id

HEADER = AUTHORIZATION_HEADER
SCHEME = "Bearer"
CLOCK_SKEW_SECONDS = 60
# A JWT of Entra ID is a few kilobytes; anything far larger is not one and is not parsed.
MAX_TOKEN_CHARS = 16_384


class Unauthenticated(Exception):
    """The command proves no actor: `reason` is a stable code, `claimed` who it said it was."""

    def __init__(self, reason: str, claimed: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claimed = claimed


class KeySource(Protocol):
    async def keys_for(self, tokens: Sequence[str]) -> tuple[Mapping[str, Any], Sequence[str]]: ...


def bearer_of(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer …` header (any case), or None."""
    for name, value in (headers or {}).items():
        if name.lower() == HEADER.lower():
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == SCHEME.lower() and token.strip():
                return token.strip()
    return None


def unverified_claims(token: str) -> Mapping[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return claims if isinstance(claims, dict) else {}


def check_bearer(
    token: str, keys: Mapping[str, Any], issuers: Sequence[str], audience: str
) -> Mapping[str, Any]:
    """The claims of `token` if Entra ID issued it to `audience` and it is valid now; raises
    `Unauthenticated` with the first reason it is not."""
    claimed = claimed_name(unverified_claims(token))
    kid = key_id(token)
    if kid is None:
        raise Unauthenticated("not_a_token", claimed)
    key = keys.get(kid)
    if key is None:
        raise Unauthenticated("unknown_key", claimed)
    try:
        claims: Mapping[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuers,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["aud", "iss", "exp"], "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("expired", claimed) from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated("wrong_audience", claimed) from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated("wrong_issuer", claimed) from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated("not_yet_valid", claimed) from None
    except jwt.InvalidSignatureError:
        raise Unauthenticated("bad_signature", claimed) from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("invalid", claimed) from None
    return claims


class BearerVerifier:
    """Turns a command's header into its verified `Actor`, or refuses it."""

    def __init__(self, keys: KeySource, audience: str, org: Organisation) -> None:
        self._keys = keys
        self._audience = audience
        self._org = org

    @classmethod
    def from_settings(cls, auth: AuthSettings, org: Organisation) -> BearerVerifier:
        keys = TenantKeys(authority_url(auth.authority), auth.tenant_id, auth.authority_ca_file)
        return cls(keys, auth.client_id, org)

    async def verify(self, token: str | None) -> Actor:
        """The actor `token` proves; raises `Unauthenticated` (`keys_unavailable` when the
        tenant's keys cannot be fetched: the caller may try again)."""
        if token is None:
            raise Unauthenticated("missing")
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated("not_a_token")
        try:
            keys, issuers = await self._keys.keys_for([token])
        except KeysUnavailable:
            raise Unauthenticated(
                "keys_unavailable", claimed_name(unverified_claims(token))
            ) from None
        claims = check_bearer(token, keys, issuers, self._audience)
        try:
            return identify(self._org, claims)
        except UnknownActor as error:
            raise Unauthenticated("unknown_actor", claimed_name(claims)) from error

    async def verify_headers(self, headers: Mapping[str, str] | None) -> Actor:
        return await self.verify(bearer_of(headers))
