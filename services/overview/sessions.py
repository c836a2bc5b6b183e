"""Sessions of signed-in people, kept server-side in the overview's KV bucket (issue 19).

Keys of `sakspost_overview` (the bucket's TTL is a session's lifetime, so an abandoned one goes by
itself; any replica serves any request):
- `session.<id>`: the verified actor, their ID token (the bearer of every command they send), the
  refresh token, their language and the CSRF token of their forms;
- `login.<id>`: a sign-in under way (msal's auth code flow: state, nonce, PKCE verifier), until
  Entra ID sends the person back.

The browser holds only the random id, in an HttpOnly, SameSite=Lax cookie (Secure unless the
overview is served over plain http on this machine). Tokens are never logged.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from services.common.actors import Actor, ActorKind
from services.common.language import Language

SESSION_COOKIE = "sakspost_session"
LOGIN_COOKIE = "sakspost_login"
SESSION_PREFIX = "session."
LOGIN_PREFIX = "login."
SESSION_SECONDS = 8 * 3600
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def new_id() -> str:
    """An unguessable id (256 bits), safe as a KV key token."""
    return secrets.token_urlsafe(32)


class Session(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    actor_id: str
    actor_name: str
    actor_kind: ActorKind
    id_token: SecretStr
    id_token_expires: float
    refresh_token: SecretStr | None = None
    language: Language
    csrf: str

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_id, self.actor_name, self.actor_kind)

    def checks(self, csrf: str | None) -> bool:
        """Whether a form's CSRF token is this session's (compared in constant time)."""
        return csrf is not None and hmac.compare_digest(csrf, self.csrf)

    def dump(self) -> bytes:
        data = self.model_dump(mode="json")
        data["id_token"] = self.id_token.get_secret_value()
        data["refresh_token"] = (
            self.refresh_token.get_secret_value() if self.refresh_token else None
        )
        return json.dumps(data).encode()


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool

    @classmethod
    def for_url(cls, public_url: str) -> CookiePolicy:
        """Secure cookies, except over plain http on this machine (local development)."""
        parts = urlsplit(public_url)
        return cls(secure=not (parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS))

    def options(self, max_age: int) -> dict[str, Any]:
        return {
            "max_age": max_age,
            "httponly": True,
            "samesite": "lax",
            "secure": self.secure,
            "path": "/",
        }


class SessionStore:
    """Sessions and sign-ins under way in the overview's KV bucket."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def get(self, session_id: str | None) -> Session | None:
        value = await self._read(SESSION_PREFIX, session_id)
        if value is None:
            return None
        try:
            return Session.model_validate_json(value)
        except ValidationError:
            return None

    async def put(self, session_id: str, session: Session) -> None:
        await self._kv.put(SESSION_PREFIX + session_id, session.dump())

    async def drop(self, session_id: str) -> None:
        await self._kv.delete(SESSION_PREFIX + session_id)

    async def put_login(self, login_id: str, flow: dict[str, Any]) -> None:
        await self._kv.put(LOGIN_PREFIX + login_id, json.dumps(flow).encode())

    async def take_login(self, login_id: str | None) -> dict[str, Any] | None:
        """The sign-in under way, once: a second callback with the same cookie finds nothing."""
        value = await self._read(LOGIN_PREFIX, login_id)
        if value is None or login_id is None:
            return None
        await self._kv.delete(LOGIN_PREFIX + login_id)
        flow = json.loads(value)
        return flow if isinstance(flow, dict) else None

    async def _read(self, prefix: str, key: str | None) -> bytes | None:
        if not key or not _is_id(key):
            return None
        try:
            entry = await self._kv.get(prefix + key)
        except KeyNotFoundError:
            return None
        return entry.value or None


def _is_id(value: str) -> bool:
    return 16 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)
