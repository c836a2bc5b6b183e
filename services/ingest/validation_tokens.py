"""Graph's `validationTokens`: proof that a batch with resource data comes from Graph.

Each token is a JWT that Entra ID issued for our tenant to our app on behalf of Graph's
change-tracking app. It is trusted only when its RS256 signature verifies with a key the tenant
publishes (`services/common/tenantkeys.py`), its issuer is the tenant's (v2
or v1), its audience our app id, `azp`/`appid` Graph's change-tracking app, and it is within
`nbf`/`exp` (5 minutes' skew). Checking is pure (`check_token`); fetching is `TenantKeys`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jwt

from services.common.tenantkeys import TenantKeys, key_id

GRAPH_CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
CLOCK_SKEW_SECONDS = 300
MAX_TOKENS = 16


class InvalidToken(ValueError):
    """A validation token that does not prove the batch comes from Graph."""


def check_token(
    token: str,
    keys: Mapping[str, Any],
    issuers: Sequence[str],
    audience: str,
) -> None:
    """Raise `InvalidToken` unless `token` is a validation token Graph sent to `audience`."""
    kid = key_id(token)
    key = keys.get(kid) if kid is not None else None
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


async def check_tokens(keys: TenantKeys, tokens: Sequence[str], audience: str) -> None:
    """Raise `InvalidToken` unless there are tokens and every one is valid (Graph sends one per
    app and tenant; every one of them must be ours)."""
    if not tokens or len(tokens) > MAX_TOKENS:
        raise InvalidToken("no validation tokens" if not tokens else "too many tokens")
    known, issuers = await keys.keys_for(tokens)
    for token in tokens:
        check_token(token, known, issuers, audience)
