"""What the emulator's Entra ID remembers between the steps of an interactive sign-in: issued
authorization codes, device codes waiting for their user, and refresh tokens.

Pure state: every method takes the time from the caller (the emulator's clock, which tests
advance to expire a code) and raises `Refused` with Entra ID's error and AADSTS code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import Enum

from devtools.graph_emulator.identity import Refused
from devtools.graph_emulator.people import Person

CODE_SECONDS = 600
DEVICE_CODE_SECONDS = 900
# Entra ID asks for 5 s between polls; the emulator's sign-in is the demo's, so it asks for 1 s.
DEVICE_POLL_SECONDS = 1
# Letters that cannot be mistaken for each other when read off a screen and typed in.
_USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8


def _invalid_grant(code: int, message: str) -> Refused:
    return Refused(400, "invalid_grant", code, message)


def s256(verifier: str) -> str:
    """PKCE's S256 code challenge of a verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class CodeGrant:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str
    person: Person
    expires_at: float


@dataclass(frozen=True)
class RefreshGrant:
    client_id: str
    scopes: tuple[str, ...]
    person: Person
    # Issued to a client that authenticated: its refresh needs the secret again.
    confidential: bool


class DeviceState(Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass
class DeviceGrant:
    client_id: str
    scopes: tuple[str, ...]
    user_code: str
    expires_at: float
    state: DeviceState = DeviceState.PENDING
    person: Person | None = None
    last_poll: float | None = None


@dataclass
class Grants:
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    devices: dict[str, DeviceGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)

    def issue_code(self, grant: CodeGrant) -> str:
        code = secrets.token_urlsafe(32)
        self.codes[code] = grant
        return code

    def redeem_code(
        self, code: str, client_id: str, redirect_uri: str, verifier: str, now: float
    ) -> CodeGrant:
        """The grant of `code`, which can be tried once only (a second try, even after a
        refusal, finds it gone): for the client and redirect URI it was issued to, with the
        verifier of its challenge, within its ten minutes."""
        grant = self.codes.pop(code, None)
        if grant is None:
            raise _invalid_grant(
                54005, "OAuth2 Authorization code was already redeemed or is not valid."
            )
        if now > grant.expires_at:
            raise _invalid_grant(
                70008, "The provided authorization code or refresh token has expired."
            )
        if client_id != grant.client_id:
            raise _invalid_grant(70002, "The authorization code was issued to another application.")
        if redirect_uri != grant.redirect_uri:
            raise _invalid_grant(
                500112, "The reply address does not match the one the code was issued for."
            )
        if not hmac.compare_digest(s256(verifier), grant.code_challenge):
            raise _invalid_grant(
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the "
                "authorization request.",
            )
        return grant

    def issue_refresh_token(self, grant: RefreshGrant) -> str:
        token = secrets.token_urlsafe(48)
        self.refresh_tokens[token] = grant
        return token

    def refresh(self, token: str, client_id: str) -> RefreshGrant:
        grant = self.refresh_tokens.get(token)
        if grant is None or grant.client_id != client_id:
            raise _invalid_grant(
                9002313, "Invalid request. The refresh token is malformed or not valid."
            )
        return grant

    def start_device(
        self, client_id: str, scopes: tuple[str, ...], now: float
    ) -> tuple[str, DeviceGrant]:
        """A new device code and its grant, waiting for its user to enter the user code."""
        user_code = "".join(secrets.choice(_USER_CODE_LETTERS) for _ in range(USER_CODE_LENGTH))
        grant = DeviceGrant(client_id, scopes, user_code, now + DEVICE_CODE_SECONDS)
        device_code = secrets.token_urlsafe(32)
        self.devices[device_code] = grant
        return device_code, grant

    def waiting_for(self, user_code: str, now: float) -> DeviceGrant | None:
        """The pending grant with this user code (as typed: case and spaces do not matter)."""
        typed = "".join(user_code.split()).upper()
        for grant in self.devices.values():
            if grant.user_code == typed and grant.state is DeviceState.PENDING:
                return grant if now <= grant.expires_at else None
        return None

    def answer_device(self, user_code: str, person: Person | None, now: float) -> bool:
        """The person approves the sign-in waiting for `user_code` (None: declines it); False
        when no sign-in waits for that code."""
        grant = self.waiting_for(user_code, now)
        if grant is None:
            return False
        grant.person = person
        grant.state = DeviceState.APPROVED if person is not None else DeviceState.DENIED
        return True

    def poll_device(self, device_code: str, client_id: str, now: float) -> DeviceGrant:
        """The approved grant of `device_code` (then gone), or RFC 8628's answer for now."""
        grant = self.devices.get(device_code)
        if grant is None or grant.client_id != client_id:
            raise _invalid_grant(70000, "The provided value for the 'device_code' is not valid.")
        if now > grant.expires_at:
            del self.devices[device_code]
            raise Refused(400, "expired_token", 70020, "The provided device code has expired.")
        if grant.state is DeviceState.DENIED:
            del self.devices[device_code]
            raise Refused(400, "access_denied", 70019, "The user declined the sign-in.")
        if grant.state is DeviceState.APPROVED:
            del self.devices[device_code]
            return grant
        too_soon = grant.last_poll is not None and now - grant.last_poll < DEVICE_POLL_SECONDS / 2
        grant.last_poll = now
        if too_soon:
            raise Refused(400, "slow_down", 70016, "Poll less often: wait the interval given.")
        raise Refused(
            400,
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
