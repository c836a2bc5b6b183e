"""The tokens the emulator's Entra ID issues for Sakspost's own sign-in, as Entra ID v2.0 shapes
them: a person's ID and access token, and an application's token for an API.

Signed with the tenant's key (`entra.SigningKey`), so the JWKS it publishes verifies them. Times
are wall time, as the clients that check them use.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from devtools.graph_emulator.entra import SigningKey
from devtools.graph_emulator.identity import AppRegistration
from devtools.graph_emulator.people import Person

TOKEN_SECONDS = 3600
# The scopes that ask for the sign-in itself; the rest name what the access token is for.
OPENID_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


def service_principal_id(client_id: str) -> str:
    """The object id of an app's service principal in the tenant (an app token's `oid`)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sakspost-service-principal:" + client_id.lower()))


def _times(now: float) -> dict[str, Any]:
    issued = int(now)
    # `uti`: Entra's unique token id; two tokens issued in the same second still differ.
    return {
        "iat": issued,
        "nbf": issued,
        "exp": issued + TOKEN_SECONDS,
        "uti": secrets.token_urlsafe(16),
    }


def _client_info(person: Person, tenant: str) -> str:
    # What msal asks for (`client_info=1`) to key its account cache: the user's and tenant's ids.
    raw = json.dumps({"uid": person.object_id, "utid": tenant}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def person_tokens(
    key: SigningKey,
    issuer: str,
    tenant: str,
    client_id: str,
    person: Person,
    scopes: Sequence[str],
    nonce: str | None,
    now: float,
) -> dict[str, Any]:
    """The token response's ID and access token for `person` signed in to `client_id` (both
    with that audience, as the app's own API is the resource); the caller adds the refresh
    token."""
    claims: dict[str, Any] = {
        "aud": client_id,
        "iss": issuer,
        **_times(now),
        "oid": person.object_id,
        # Entra's `sub` is pairwise: the same person has another one in every app.
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{client_id}:{person.object_id}")),
        "preferred_username": person.email,
        "name": person.name,
        "tid": tenant,
        "ver": "2.0",
    }
    id_claims = {**claims, "nonce": nonce} if nonce else claims
    wanted = [scope.rsplit("/", 1)[-1] for scope in scopes if scope not in OPENID_SCOPES]
    access_claims = {**claims, "azp": client_id, "scp": " ".join(wanted or ["openid"])}
    return {
        "token_type": "Bearer",
        "scope": " ".join(scopes),
        "expires_in": TOKEN_SECONDS,
        "ext_expires_in": TOKEN_SECONDS,
        "id_token": key.sign(id_claims),
        "access_token": key.sign(access_claims),
        "client_info": _client_info(person, tenant),
    }


def app_token(
    key: SigningKey,
    issuer: str,
    tenant: str,
    resource: str,
    caller: AppRegistration,
    now: float,
) -> dict[str, Any]:
    """The token response for `caller`'s client-credentials request for the API `resource`."""
    principal = service_principal_id(caller.client_id)
    claims: dict[str, Any] = {
        "aud": resource,
        "iss": issuer,
        **_times(now),
        "idtyp": "app",
        "azp": caller.client_id,
        "appid": caller.client_id,
        "azpacr": "1",
        "oid": principal,
        "sub": principal,
        "tid": tenant,
        "ver": "2.0",
    }
    if caller.roles:
        claims["roles"] = list(caller.roles)
    return {
        "token_type": "Bearer",
        "expires_in": TOKEN_SECONDS,
        "ext_expires_in": TOKEN_SECONDS,
        "access_token": key.sign(claims),
    }
