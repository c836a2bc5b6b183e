"""Every service records each start of each instance (issue 17), so that the notifier can tell
operations about one that keeps restarting (`services/notifier/restarts.py`).

A start is one key in KV `sakspost_starts`, `<service>.<instance>.<epoch ms>`: the key says
it all, so reading the starts is listing keys. Each service may write only keys under its own name
(`permissions.py`); the bucket forgets a start after a day.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.js.kv import KeyValue

from services.common.kvread import live_keys

STARTS_BUCKET = "sakspost_starts"
STARTS_TTL_SECONDS = 24 * 3600
_NOT_IN_A_TOKEN = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class Start:
    service: str
    instance: str
    at: datetime


def this_instance() -> str:
    """The pod's name (its hostname on Kubernetes), as one KV key token."""
    return _NOT_IN_A_TOKEN.sub("-", socket.gethostname().lower()).strip("-") or "unknown"


def start_key(start: Start) -> str:
    return f"{start.service}.{start.instance}.{int(start.at.timestamp() * 1000)}"


def parse_start_key(key: str) -> Start | None:
    """The start a key records; None for a key not in that shape (nothing to count)."""
    parts = key.split(".")
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return Start(parts[0], parts[1], datetime.fromtimestamp(int(parts[2]) / 1000, UTC))


async def record_start(kv: KeyValue, start: Start) -> None:
    await kv.put(start_key(start), start.at.isoformat().encode())


async def read_starts(kv: KeyValue) -> list[Start]:
    return [start for key in await live_keys(kv) if (start := parse_start_key(key)) is not None]
