"""Who the command line acts as, proved by a token from Sakspost's own app registration in Entra
ID (`SAKSPOST_AUTH_TENANT_ID`, `SAKSPOST_AUTH_CLIENT_ID`, at `SAKSPOST_GRAPH_AUTHORITY`):

- a person, signed in with `sakspost login` (the device code flow): their ID token, whose
  audience is Sakspost's app, kept in a token cache readable by them only
  (`$XDG_CACHE_HOME/sakspost/token-cache.json`) and refreshed silently when it nears expiry;
- or, when `SAKSPOST_OPERATOR_CLIENT_ID` and `SAKSPOST_OPERATOR_CLIENT_SECRET` are set, the
  operator's own application: a client-credentials token for Sakspost's API.

`bearer_token()` is what a command sends in its `Authorization: Bearer` header; a token obtained
elsewhere (a pipeline's own sign-in) may be given in `SAKSPOST_TOKEN` instead, and is verified by
the service like any other. Outside the
stack's environment the sign-in settings come from the credentials folder, where `sakspost up`
writes them (`sign-in.env`), as NATS logins do. A token is never printed or logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import msal

from sakspost.texts import text
from services.common.actors import Actor
from services.common.bearer import BearerVerifier, Unauthenticated
from services.common.credentials import credentials_dir, read_env_file, write_private
from services.common.msalhttp import MsalHttpClient
from services.common.orgconfig import Organisation
from services.common.settings import AuthSettings, Settings, load_settings

SIGN_IN_FILE = "sign-in.env"
CACHE_FILE = "token-cache.json"
# A token is renewed when it has less left than this, as msal does for access tokens: a command
# must not reach a service with a token that expires on the way.
FRESH_FOR_SECONDS = 300
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
TOKEN_VARIABLE = "SAKSPOST_TOKEN"  # noqa: S105 (the variable's name, not a token)


class LoginError(Exception):
    """No usable identity; the message (translated) says what to do."""


@dataclass(frozen=True)
class SakspostApp:
    """Sakspost's app registration and the Entra ID host it lives on."""

    authority: str
    tenant_id: str
    client_id: str
    ca_file: Path | None

    @property
    def tenant_authority(self) -> str:
        return f"{self.authority.rstrip('/')}/{self.tenant_id}"

    @property
    def api_scope(self) -> str:
        """What an application asks for to call Sakspost's API."""
        return f"{self.client_id}/.default"


@dataclass(frozen=True)
class Identity:
    """Who a token names: a person (name, address) or an application (its client id)."""

    name: str
    email: str | None


def sakspost_app(settings: Settings) -> SakspostApp:
    """From the environment, else from `sakspost up`'s sign-in file; `LoginError` when neither
    names the app."""
    tenant, client = settings.auth_tenant_id, settings.auth_client_id
    authority, ca_file = settings.graph_authority, settings.graph_authority_ca_file
    if tenant is None or client is None:
        path = credentials_dir(settings) / SIGN_IN_FILE
        local = read_env_file(path) if path.exists() else {}
        tenant = local.get("SAKSPOST_AUTH_TENANT_ID")
        client = local.get("SAKSPOST_AUTH_CLIENT_ID")
        authority = local.get("SAKSPOST_GRAPH_AUTHORITY")
        local_ca = local.get("SAKSPOST_GRAPH_AUTHORITY_CA_FILE")
        ca_file = Path(local_ca) if local_ca else None
    if tenant is None or client is None:
        raise LoginError(text("login_unconfigured"))
    return SakspostApp(authority or DEFAULT_AUTHORITY, tenant, client, ca_file)


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sakspost" / CACHE_FILE


@contextlib.contextmanager
def _session(app: SakspostApp) -> Iterator[MsalHttpClient]:
    """msal's HTTP client, closed after use (an idle TLS connection left open holds a server's
    shutdown until its TLS close times out); Entra ID unreachable is a `LoginError`."""
    with MsalHttpClient(app.ca_file) as session:
        try:
            yield session
        except (ValueError, httpx.HTTPError) as error:
            # msal raises ValueError when the authority's discovery document is not usable.
            raise LoginError(
                text("login_unreachable", authority=app.authority, reason=error)
            ) from None


def _load_cache(path: Path) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    cache.deserialize(path.read_text(encoding="utf-8"))
    return cache


def _save_cache(cache: msal.SerializableTokenCache, path: Path | None) -> None:
    if path is not None and cache.has_state_changed:
        write_private(path, str(cache.serialize()))


def _public_client(
    app: SakspostApp, cache: msal.SerializableTokenCache, session: MsalHttpClient
) -> Any:
    return msal.PublicClientApplication(
        app.client_id,
        authority=app.tenant_authority,
        instance_discovery=False,
        http_client=session,
        token_cache=cache,
    )


def _failed(result: dict[str, Any]) -> LoginError:
    reason = result.get("error_description") or result.get("error") or "?"
    return LoginError(text("login_failed", reason=str(reason).splitlines()[0]))


def device_login(
    app: SakspostApp, cache_file: Path | None, show: Callable[[str, str], None]
) -> str:
    """Sign a person in with the device code flow and return their ID token:
    `show(verification_uri, user_code)` tells them where to go, and this waits until they have.
    The cache file (None: none) then holds their tokens alone."""
    cache = msal.SerializableTokenCache()
    with _session(app) as session:
        client = _public_client(app, cache, session)
        flow = client.initiate_device_flow(scopes=[])
        if "user_code" not in flow:
            raise _failed(flow)
        show(str(flow["verification_uri"]), str(flow["user_code"]))
        result = client.acquire_token_by_device_flow(flow)
    if "id_token" not in result:
        raise _failed(result)
    _save_cache(cache, cache_file)
    return str(result["id_token"])


def identity_of(token: str) -> Identity:
    # Read, not verified: the services verify; the command line only says whom it holds.
    claims = jwt.decode(token, options={"verify_signature": False})
    email = claims.get("preferred_username")
    return Identity(str(claims.get("name") or email or claims.get("azp")), email)


def _cached_id_token(cache: msal.SerializableTokenCache, app: SakspostApp, account: Any) -> str:
    entries = cache.search(
        msal.TokenCache.CredentialType.ID_TOKEN,
        query={"client_id": app.client_id, "home_account_id": account["home_account_id"]},
    )
    return next((str(entry["secret"]) for entry in entries), "")


def _fresh(token: str) -> bool:
    if not token:
        return False
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp", 0)
    return float(expires) - time.time() > FRESH_FOR_SECONDS


def person_token(app: SakspostApp, cache_file: Path) -> str:
    """The signed-in person's ID token, refreshed (and the cache saved) when it nears expiry."""
    if not cache_file.exists():
        raise LoginError(text("login_needed"))
    cache = _load_cache(cache_file)
    with _session(app) as session:
        client = _public_client(app, cache, session)
        accounts = client.get_accounts()
        if not accounts:
            raise LoginError(text("login_needed"))
        token = _cached_id_token(cache, app, accounts[0])
        if _fresh(token):
            return token
        result = client.acquire_token_silent_with_error([], accounts[0], force_refresh=True)
    if not result or "id_token" not in result:
        raise LoginError(text("login_needed"))
    _save_cache(cache, cache_file)
    return str(result["id_token"])


def operator_token(app: SakspostApp, client_id: str, secret: str) -> str:
    """A client-credentials token for Sakspost's API as the operator's application."""
    with _session(app) as session:
        client = msal.ConfidentialClientApplication(
            client_id,
            client_credential=secret,
            authority=app.tenant_authority,
            instance_discovery=False,
            http_client=session,
        )
        result = client.acquire_token_for_client(scopes=[app.api_scope])
    if "access_token" not in result:
        raise _failed(result)
    return str(result["access_token"])


def bearer_token(settings: Settings | None = None) -> str:
    """The token a command carries: one given in SAKSPOST_TOKEN, else the operator
    application's when its id and secret are set, else the signed-in person's; `LoginError`
    (translated: run `sakspost login`) when there is none."""
    given = os.environ.get(TOKEN_VARIABLE, "").strip()
    if given:
        return given
    settings = settings or load_settings()
    app = sakspost_app(settings)
    client_id, secret = settings.operator_client_id, settings.operator_client_secret
    if client_id is not None and secret is not None:
        return operator_token(app, client_id, secret.get_secret_value())
    if client_id is not None or secret is not None:
        raise LoginError(text("operator_incomplete"))
    return person_token(app, cache_path())


def verified_actor(settings: Settings, org: Organisation) -> Actor:
    """Who the command line's token proves, checked here as a service checks a command's (the
    tenant's keys, issuer, audience, expiry, the organisation file): for the few commands that act
    in this process rather than through a service, such as the offboarding sweep."""
    app = sakspost_app(settings)
    auth = AuthSettings(app.tenant_id, app.client_id, app.authority, app.ca_file)
    verifier = BearerVerifier.from_settings(auth, org)
    try:
        return asyncio.run(verifier.verify(bearer_token(settings)))
    except Unauthenticated as refused:
        raise LoginError(text("login_refused", reason=refused.reason)) from None


def whoami(settings: Settings | None = None) -> Identity:
    """Whom `bearer_token()` names now (refreshing it if it has to)."""
    return identity_of(bearer_token(settings))


def logout(cache_file: Path) -> bool:
    """Forget the signed-in person's tokens; False when nobody was signed in."""
    if not cache_file.exists():
        return False
    cache_file.unlink()
    return True
