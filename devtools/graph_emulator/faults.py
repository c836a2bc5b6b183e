"""Per-mailbox fault switches: throttling, server errors, slow answers, lost notifications.

Shares are applied deterministically (a running tally, not a dice roll), so "20 % of
notifications dropped" drops exactly one in five and tests need no luck.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devtools.graph_emulator.errors import bad_request


@dataclass
class Share:
    """Fires for the given fraction of calls, spread evenly."""

    fraction: float = 0.0
    _tally: float = 0.0

    def fire(self) -> bool:
        if self.fraction <= 0:
            return False
        self._tally += self.fraction
        if self._tally >= 1.0 - 1e-9:
            self._tally -= 1.0
            return True
        return False


@dataclass
class MailboxFaults:
    throttle: Share
    retry_after: int
    server_error: Share
    server_error_status: int
    latency_ms: int
    drop_notifications: Share
    concurrency_limit: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "throttle": self.throttle.fraction,
            "retryAfter": self.retry_after,
            "serverError": self.server_error.fraction,
            "serverErrorStatus": self.server_error_status,
            "latencyMs": self.latency_ms,
            "dropNotifications": self.drop_notifications.fraction,
            "concurrencyLimit": self.concurrency_limit,
        }


def _fraction(body: dict[str, Any], name: str) -> float:
    value = body.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise bad_request(f"{name} must be a number from 0 to 1.")
    return float(value)


def _whole(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"{name} must be a whole number from {low} to {high}.")
    return value


def parse_faults(body: Any) -> MailboxFaults:
    if not isinstance(body, dict):
        raise bad_request("The fault switches must be a JSON object.")
    known = {
        "throttle", "retryAfter", "serverError", "serverErrorStatus", "latencyMs",
        "dropNotifications", "concurrencyLimit",
    }  # fmt: skip
    unknown = sorted(set(body) - known)
    if unknown:
        raise bad_request(f"Unknown fault switches {unknown}; known: {sorted(known)}.")
    limit = body.get("concurrencyLimit")
    return MailboxFaults(
        throttle=Share(_fraction(body, "throttle")),
        retry_after=_whole(body, "retryAfter", 1, 0, 3600),
        server_error=Share(_fraction(body, "serverError")),
        server_error_status=_whole(body, "serverErrorStatus", 503, 500, 599),
        latency_ms=_whole(body, "latencyMs", 0, 0, 120_000),
        drop_notifications=Share(_fraction(body, "dropNotifications")),
        concurrency_limit=None if limit is None else _whole(body, "concurrencyLimit", 4, 1, 100),
    )


class FaultBoard:
    """The fault switches of every mailbox (by mailbox address)."""

    def __init__(self) -> None:
        self._faults: dict[str, MailboxFaults] = {}
        self.in_flight: dict[str, int] = {}

    def set(self, address: str, faults: MailboxFaults) -> None:
        self._faults[address] = faults

    def clear(self, address: str | None = None) -> None:
        if address is None:
            self._faults.clear()
        else:
            self._faults.pop(address, None)

    def get(self, address: str) -> MailboxFaults | None:
        return self._faults.get(address)

    def drop_notification(self, address: str) -> bool:
        faults = self._faults.get(address)
        return faults is not None and faults.drop_notifications.fire()

    def as_json(self) -> dict[str, Any]:
        return {address: faults.as_json() for address, faults in self._faults.items()}
