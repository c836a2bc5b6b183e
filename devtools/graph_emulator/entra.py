"""The emulator's Entra ID signing key and the documents a token's reader finds it by.

Entra ID signs the tokens it issues (Graph's `validationTokens`; the sign-in's ID, access and
app tokens, `oidc_tokens.py`) with an RSA key named by `kid`, published in the tenant's JWKS,
which the OpenID discovery document points at. The key is kept in the emulator's data directory
(when it has one), so a restart does not invalidate what readers cached, as Entra's keys outlive
a restart too.

Served on the login host (TLS, like login.microsoftonline.com):
- `GET /{tenant}/v2.0/.well-known/openid-configuration`: issuer `{authority}/{tenant}/v2.0`,
  `jwks_uri`, the token, authorize, device code and logout endpoints (`signin.py`);
- `GET /{tenant}/discovery/v2.0/keys` and `GET /common/discovery/v2.0/keys`: the JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY_FILE = "entra-signing-key.pem"
# Graph's change-tracking application: the `azp`/`appid` of every validation token it sends.
GRAPH_CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
VALIDATION_TOKEN_SECONDS = 3600


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class SigningKey:
    """The tenant's RSA signing key, its `kid` the key's RFC 7638 thumbprint."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key
        numbers = key.public_key().public_numbers()
        self._public = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
        canonical = json.dumps(self._public, separators=(",", ":"), sort_keys=True)
        digest = hashlib.sha256(canonical.encode()).digest()
        self.kid = base64.urlsafe_b64encode(digest).decode().rstrip("=")

    @classmethod
    def load_or_create(cls, data_dir: Path | None) -> SigningKey:
        """The key kept in `data_dir`, made there on first use; a fresh one without a directory."""
        path = data_dir / KEY_FILE if data_dir is not None else None
        if path is not None and path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(loaded, rsa.RSAPrivateKey):
                return cls(loaded)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        return cls(key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._public, "use": "sig", "kid": self.kid, "alg": "RS256"}]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self._key, algorithm="RS256", headers={"kid": self.kid})


def issuer(authority: str, tenant: str) -> str:
    """The v2.0 issuer of a tenant, as its discovery document names it."""
    return f"{authority}/{tenant}/v2.0"


def openid_configuration(authority: str, tenant: str) -> dict[str, Any]:
    base = f"{authority}/{tenant}"
    return {
        "issuer": issuer(authority, tenant),
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "client_credentials",
        ],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "client_secret_basic",
            "private_key_jwt",
        ],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "aud",
            "iss",
            "iat",
            "nbf",
            "exp",
            "oid",
            "sub",
            "tid",
            "ver",
            "nonce",
            "name",
            "preferred_username",
            "idtyp",
            "azp",
            "appid",
            "roles",
            "scp",
        ],
        "tenant_region_scope": "EU",
    }


def validation_token(
    key: SigningKey, authority: str, tenant: str, audience: str, now: float | None = None
) -> str:
    """A Graph validation token: issued by the tenant to `audience` (the subscribing app), on
    behalf of Graph's change-tracking app, valid for an hour."""
    issued = int(time.time() if now is None else now)
    return key.sign(
        {
            "aud": audience,
            "iss": issuer(authority, tenant),
            "iat": issued,
            "nbf": issued,
            "exp": issued + VALIDATION_TOKEN_SECONDS,
            "azp": GRAPH_CHANGE_TRACKING_APP_ID,
            "azpacr": "2",
            "tid": tenant,
            "ver": "2.0",
        }
    )


def discovery_routes(
    key: SigningKey, tenant_id: str, names: frozenset[str], authority: str
) -> list[Route]:
    """The discovery document and JWKS routes of the login host at `authority`; the tenant is
    addressed by its id or one of its `names` (domains), and always issues as its id."""

    def known(request: Request) -> bool:
        tenant = str(request.path_params["tenant"]).lower()
        return tenant == tenant_id.lower() or tenant in names

    async def configuration(request: Request) -> Response:
        if not known(request):
            return JSONResponse({"error": "invalid_tenant"}, status_code=400)
        return JSONResponse(openid_configuration(authority, tenant_id))

    async def keys(request: Request) -> Response:
        if not known(request) and request.path_params["tenant"] != "common":
            return JSONResponse({"error": "invalid_tenant"}, status_code=400)
        return JSONResponse(key.jwks())

    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", configuration, methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", keys, methods=["GET"]),
    ]
