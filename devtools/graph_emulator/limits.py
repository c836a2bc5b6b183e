"""Graph's Outlook limits per app and mailbox, as an emulator option (pure; the gate applies it).

Exchange allows one app 10,000 requests to one mailbox in any 10 minutes and 4 requests in
flight at once ("Outlook service limits" in Microsoft Graph's throttling limits); past either
Graph answers 429 `ApplicationThrottled` with a `Retry-After` in seconds, and other mailboxes
keep answering. The option is off by default, so the emulator answers as fast as it can; the
benchmark turns it on (`GRAPH_EMULATOR_LIMITS=graph` in the emulator's environment) to show
whether Sakspost stays within Graph's limits.

Only admitted requests count towards the 10 minutes, so a client that waits out `Retry-After`
gets through (Exchange's own accounting of refused requests is not documented).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV = "GRAPH_EMULATOR_LIMITS"
ON = "graph"
# Graph names no wait for the concurrency limit; one second lets a request in flight finish.
CONCURRENCY_RETRY_AFTER = 1
CONCURRENCY_MESSAGE = "Application is over its MailboxConcurrency limit."


@dataclass(frozen=True)
class Limits:
    requests: int = 10_000
    window_seconds: float = 600.0
    concurrent: int = 4


@dataclass(frozen=True)
class Refusal:
    """Graph's 429: the error's message and the `Retry-After` seconds."""

    message: str
    retry_after: int


def limits_from_env(environ: Mapping[str, str]) -> Limits | None:
    """Graph's limits when the environment asks for them, else none."""
    value = environ.get(ENV, "").strip().lower()
    if value in ("", "off"):
        return None
    if value != ON:
        raise ValueError(f"{ENV} must be '{ON}' or 'off', not {value!r}")
    return Limits()


@dataclass
class MailboxLimits:
    """Admission per mailbox address against `limits`; the caller counts requests in flight."""

    limits: Limits
    _admitted: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, address: str, in_flight: int, now: float) -> Refusal | None:
        """Admit one request at monotonic time `now` (counted), or say why Graph would not."""
        if in_flight >= self.limits.concurrent:
            return Refusal(CONCURRENCY_MESSAGE, CONCURRENCY_RETRY_AFTER)
        admitted = self._admitted.setdefault(address, deque())
        while admitted and admitted[0] <= now - self.limits.window_seconds:
            admitted.popleft()
        if len(admitted) >= self.limits.requests:
            wait = admitted[0] + self.limits.window_seconds - now
            return Refusal(
                "Application is over its request limit for this mailbox.",
                max(1, math.ceil(wait)),
            )
        admitted.append(now)
        return None
