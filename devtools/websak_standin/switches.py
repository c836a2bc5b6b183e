"""Fault switches and bearer tokens of the stand-in.

The switches let tests and demos make WebSak misbehave the ways a real one does: unreachable behind
its gateway (`down`: 503), slow (`slow_ms`), failing (`fail_500`: the next N API requests answer
500, -1 until reset) and with credentials that stopped working (`expired_token`: every token issued
so far, and the static ones, are refused with 401 until reset).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Faults:
    down: bool = False
    slow_ms: int = 0
    fail_500: int = 0
    expired_token: bool = False

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update; a wrong name or type raises ValueError with the reason."""
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault switch {name!r}")
            expected = type(getattr(self, name))
            if type(value) is not expected:
                raise ValueError(f"fault switch {name!r} takes a {expected.__name__}")
            if name == "slow_ms" and value < 0:
                raise ValueError("slow_ms must not be negative")
            setattr(self, name, value)

    def take_failure(self) -> bool:
        """Whether this request must fail with 500 (counts down the `fail_500` budget)."""
        if self.fail_500 == 0:
            return False
        if self.fail_500 > 0:
            self.fail_500 -= 1
        return True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Tokens:
    """Static tokens and tokens issued by the client-credentials endpoint."""

    static: frozenset[str]
    client_id: str
    client_secret: str
    ttl_s: float
    issued: dict[str, float] = field(default_factory=dict)

    def issue(self, client_id: str, client_secret: str) -> str | None:
        known = hmac.compare_digest(client_id, self.client_id) and hmac.compare_digest(
            client_secret, self.client_secret
        )
        if not known:
            return None
        token = secrets.token_urlsafe(24)
        self.issued[token] = time.monotonic() + self.ttl_s
        return token

    def accepts(self, token: str, faults: Faults) -> bool:
        expiry = self.issued.get(token)
        if expiry is not None:
            return time.monotonic() < expiry
        if faults.expired_token:
            return False
        return any(hmac.compare_digest(token, known) for known in self.static)

    def expire_all(self) -> None:
        self.issued.clear()
