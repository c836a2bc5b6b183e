"""What the retry discipline remembers of each (consumer, message) in KV, so a restart keeps it.

Only outcomes other than a success are written, one record per message under the key
`<consumer>.<stream sequence>`:
- `failures`: deterministic failures so far (a bug, a message this code cannot handle);
- `ended`: deliveries that ended with such an outcome (a delayed nack for a transient failure, a
  deterministic failure, a cancellation).

JetStream numbers the deliveries of a message (`num_delivered`), so as delivery n starts the
deliveries before it that ended without any outcome are `(n - 1) - ended`: the process died (an
OOM kill, SIGKILL raises nothing), or the ack wait ran out while it was busy. A first delivery
has nothing before it and reads nothing; a success writes nothing and deletes the record only if
it read or wrote one. The common case (handled at the first delivery) costs no KV operation.

What follows from counting by delivery numbers:
- Two deliveries overlapping (the ack wait ran out while the first was busy): as the second
  starts, the first has no outcome yet and counts as crashed. If it ends later after all, its
  outcome is counted and it is a crash no more; one that never ends stays counted.
- A delivery fetched but never started (a process killed, or stopped, with it waiting for a free
  handler or in a pull under way) also ended without an outcome, and counts as crashed.
- KV unreachable as a redelivery reads its record or a transient outcome is written: the
  middleware retries the read or write in place, the message not yet nacked, for up to half the
  ack wait (`retry._Attempt._patiently`), so a short outage (a restart, a leader election) costs
  no count; only a delivery that still could not reach KV goes unrecorded and counts once.
- During a rolling upgrade a replica of the previous version cannot read a record of this format:
  it retries that message later without running it (as for KV unreachable), which counts once.
- A record lost with the bucket's TTL: an outcome is written at least every retry delay (at most
  minutes) while a message is being retried, so only a message not delivered at all for the whole
  TTL (its consumer stopped for days) can lose its record. A redelivery then finds none for a
  message older than the TTL; that absence says nothing, so it starts the count afresh (one write)
  rather than take every earlier delivery for a crash (so a message older than the TTL may crash
  once more than the limit, as when the previous format's record expired).
- Records of the previous format (`{"failures","crashed","open"}`: attempts marked open before
  the handler, crashes counted as a later delivery found the mark; and before that a bare count of
  failures) are read as the same crashes: `ended` is what makes `(n - 1) - ended` equal the
  crashes that format counted, so a message in a long transient retry carries none over.

FastStream cannot keep these counts: JetStream's own delivery count also grows with every
transient retry, and an archive outage of a few hours must never dead-letter archival mail, so a
delayed nack is an outcome like any other and counts toward nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue


@dataclass(frozen=True)
class AttemptRecord:
    failures: int = 0
    ended: int = 0

    def crashed(self, delivery: int) -> int:
        """Deliveries before `delivery` that ended without an outcome."""
        return max(0, delivery - 1 - self.ended)

    def closed(self) -> AttemptRecord:
        """A delivery ended with an outcome that is retried later (a delayed nack)."""
        return replace(self, ended=self.ended + 1)

    def failed(self) -> AttemptRecord:
        return replace(self, failures=self.failures + 1, ended=self.ended + 1)

    def encode(self) -> bytes:
        return json.dumps({"failures": self.failures, "ended": self.ended}).encode()

    @classmethod
    def decode(cls, value: bytes | None, delivery: int) -> AttemptRecord:
        """The record as delivery `delivery` reads it, whichever format wrote it."""
        if not value:
            return cls()
        loaded = json.loads(value)
        if isinstance(loaded, int):  # a count kept before attempts were marked: no crashes
            return cls(failures=loaded, ended=delivery - 1)
        if "ended" in loaded:
            return cls(failures=loaded["failures"], ended=loaded["ended"])
        # Attempts marked open: the crashes counted, and a mark an earlier delivery left open.
        open_mark = loaded.get("open", 0)
        crashed = loaded.get("crashed", 0) + (0 < open_mark < delivery)
        return cls(failures=loaded.get("failures", 0), ended=max(0, delivery - 1 - crashed))


@dataclass(frozen=True)
class Attempt:
    """One delivery being handled: the record as it knows it, and that record's revision."""

    key: str
    delivery: int
    record: AttemptRecord = field(default_factory=AttemptRecord)
    revision: int | None = None  # None: none read or written (a first delivery reads nothing)

    @property
    def crashed(self) -> int:
        return self.record.crashed(self.delivery)


def attempt_key(consumer: str, message_key: str) -> str:
    return f"{consumer}.{message_key}"


class FailureCounter(Protocol):
    async def begin(self, attempt: Attempt, stored_age_s: float) -> Attempt:
        """What is known of the deliveries before `attempt`, before its handler runs;
        `stored_age_s`: how long ago the message was stored in its stream."""
        ...

    async def fail(self, attempt: Attempt) -> Attempt:
        """The attempt ended in a deterministic failure; its record counts the failures so far."""
        ...

    async def end(self, attempt: Attempt) -> Attempt:
        """The attempt ended with an outcome that is retried later (a delayed nack)."""
        ...

    async def forget(self, attempt: Attempt) -> None:
        """The message is settled for good: nothing about it is kept."""
        ...


Change = Callable[[AttemptRecord], AttemptRecord]


class KvFailureCounter:
    """The production store: one compare-and-set KV key per (consumer, stream sequence).

    A message handled at its first delivery costs nothing; a redelivery reads its record once,
    and each outcome other than a success writes it (create or update, compare-and-set).
    """

    def __init__(self, kv: KeyValue, ttl_seconds: float) -> None:
        self._kv = kv
        self._ttl_seconds = ttl_seconds

    async def begin(self, attempt: Attempt, stored_age_s: float) -> Attempt:
        if attempt.delivery == 1:  # nothing can have ended before it
            return attempt
        try:
            entry = await self._kv.get(attempt.key)
        except KeyNotFoundError:
            if stored_age_s < self._ttl_seconds:  # no outcome was ever written: all crashed
                return attempt
            # The record may have expired: the count starts again from this delivery.
            fresh = AttemptRecord(ended=attempt.delivery - 1)
            return await self._write(replace(attempt, record=fresh), lambda record: record)
        record = AttemptRecord.decode(entry.value, attempt.delivery)
        return replace(attempt, record=record, revision=entry.revision)

    async def fail(self, attempt: Attempt) -> Attempt:
        return await self._write(attempt, AttemptRecord.failed)

    async def end(self, attempt: Attempt) -> Attempt:
        return await self._write(attempt, AttemptRecord.closed)

    async def forget(self, attempt: Attempt) -> None:
        if attempt.revision is not None:
            await self._kv.delete(attempt.key)

    async def _write(self, attempt: Attempt, change: Change) -> Attempt:
        """Apply `change` to the stored record: first to the one the attempt knows (no read),
        then, when another delivery wrote since, to the one read again."""
        record, revision = attempt.record, attempt.revision
        while True:
            changed = change(record)
            try:
                if revision is None:
                    written = await self._kv.create(attempt.key, changed.encode())
                else:
                    written = await self._kv.update(attempt.key, changed.encode(), last=revision)
            except KeyWrongLastSequenceError:
                record, revision = await self._read(attempt)
                continue
            return replace(attempt, record=changed, revision=written)

    async def _read(self, attempt: Attempt) -> tuple[AttemptRecord, int | None]:
        try:
            entry = await self._kv.get(attempt.key)
        except KeyNotFoundError:  # deleted since: `create` writes over the delete marker
            return AttemptRecord(), None
        return AttemptRecord.decode(entry.value, attempt.delivery), entry.revision


class MemoryFailureCounter:
    """For FastStream's in-memory test broker, which has no KV: the same records, in a dict
    (its deliveries all say they are the first, so it counts outcomes, never crashes)."""

    def __init__(self) -> None:
        self._records: dict[str, AttemptRecord] = {}

    async def begin(self, attempt: Attempt, stored_age_s: float) -> Attempt:
        if attempt.delivery == 1 or attempt.key not in self._records:
            return attempt
        return replace(attempt, record=self._records[attempt.key], revision=1)

    async def fail(self, attempt: Attempt) -> Attempt:
        return self._change(attempt, AttemptRecord.failed)

    async def end(self, attempt: Attempt) -> Attempt:
        return self._change(attempt, AttemptRecord.closed)

    async def forget(self, attempt: Attempt) -> None:
        self._records.pop(attempt.key, None)

    def _change(self, attempt: Attempt, change: Change) -> Attempt:
        self._records[attempt.key] = change(self._records.get(attempt.key, AttemptRecord()))
        return replace(attempt, record=self._records[attempt.key], revision=1)
