"""Never twice: one ledger entry per notice in KV (`sakspost_notices`, key `notice.<id>`).

A notice is claimed with `create()` (state `sending`, owner, since) before any channel is used,
and marked `sent` after the channel accepted it. Redeliveries and replays of the same fact find
`sent` and stop. A crash between sending and marking leaves `sending`: after the claim lease the
next attempt takes the notice over with compare-and-set and is told it is *resuming*, so the
e-mail channel looks in Sent Items for the notice's Message-ID before sending again. While the
lease runs, another process leaves the notice alone (a live owner may be mid-send).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from schemas.vocab import Channel
from services.common.clock import Clock
from services.common.errors import TransientError

SENDING = "sending"
SENT = "sent"


def process_owner() -> str:
    """Who claims: unique per process, readable in the bucket by an operator."""
    return f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Claimed:
    revision: int
    resumed: bool


@dataclass(frozen=True)
class AlreadySent:
    channel: Channel | None


class NoticeLedger:
    def __init__(self, kv: KeyValue, owner: str, lease_seconds: float, clock: Clock) -> None:
        self._kv = kv
        self._owner = owner
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock
        self._in_flight: set[str] = set()

    @staticmethod
    def key(notice_id: str) -> str:
        return f"notice.{notice_id}"

    def _record(self, state: str, channel: Channel | None = None) -> bytes:
        record = {
            "state": state,
            "owner": self._owner,
            "since": self._clock().isoformat(),
            "channel": channel.value if channel else None,
        }
        return json.dumps(record).encode()

    async def claim(self, notice_id: str) -> Claimed | AlreadySent:
        key = self.key(notice_id)
        while True:
            # Most notices are new: try to create the entry first, one round trip to NATS.
            try:
                revision = await self._kv.create(key, self._record(SENDING))
            except KeyWrongLastSequenceError:
                pass
            else:
                self._in_flight.add(notice_id)
                return Claimed(revision, resumed=False)
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError:
                continue
            record = json.loads(entry.value or b"{}")
            if record.get("state") == SENT:
                channel = record.get("channel")
                return AlreadySent(Channel(channel) if channel else None)
            if notice_id in self._in_flight:
                raise TransientError("this notice is being sent right now", retry_after=1.0)
            age = self._clock() - datetime.fromisoformat(record["since"])
            if record.get("owner") != self._owner and age < self._lease:
                wait = (self._lease - age).total_seconds()
                raise TransientError("another notifier claimed this notice", retry_after=wait)
            try:
                revision = await self._kv.update(key, self._record(SENDING), last=entry.revision)
            except KeyWrongLastSequenceError:
                continue
            self._in_flight.add(notice_id)
            return Claimed(revision, resumed=True)

    async def mark_sent(self, notice_id: str, channel: Channel, claim: Claimed) -> None:
        # Our own claim's revision: a compare-and-set failure would mean the lease was too short.
        await self._kv.update(self.key(notice_id), self._record(SENT, channel), last=claim.revision)

    def release(self, notice_id: str) -> None:
        """The attempt is over (sent or not); the entry in KV says which."""
        self._in_flight.discard(notice_id)
