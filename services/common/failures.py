"""What the retry discipline remembers of each (consumer, message) in KV, so a restart keeps it.

One record per message while it is being handled, under the key `<consumer>.<stream sequence>`:
- `failures`: deterministic failures so far (a bug, a message this code cannot handle);
- `crashed`: attempts that were started and never ended with an outcome: the process died (an
  OOM kill, SIGKILL raises nothing) or the ack wait ran out while it was still busy;
- `open`: the JetStream delivery number (`num_delivered`) of the attempt running now, 0 for none.

An attempt is marked open before its handler runs and closed by its outcome; a delivery that
finds an earlier attempt still open knows that attempt never ended. The record is deleted once the
message is settled for good (acknowledged, terminated), so the bucket holds only messages in
flight; a record a crash leaves behind goes with the bucket's TTL.

FastStream cannot keep these counts: JetStream's own delivery count also grows with every
transient retry, and an archive outage of a few hours must never dead-letter archival mail, so a
delayed nack is an outcome like any other and counts toward nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue


@dataclass(frozen=True)
class AttemptRecord:
    failures: int = 0
    crashed: int = 0
    open: int = 0

    def begun(self, delivery: int) -> AttemptRecord:
        """Delivery `delivery` starts; an attempt still open never ended, so it crashed."""
        return replace(self, crashed=self.crashed + (self.open != 0), open=delivery)

    def ended(self, delivery: int) -> AttemptRecord:
        """Delivery `delivery` ended with an outcome; a later delivery's open mark stays."""
        return replace(self, open=0) if self.open == delivery else self

    def failed(self, delivery: int) -> AttemptRecord:
        return replace(self.ended(delivery), failures=self.failures + 1)

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes | None) -> AttemptRecord:
        if not value:
            return cls()
        loaded = json.loads(value)
        if isinstance(loaded, int):  # a count kept before attempts were marked
            return cls(failures=loaded)
        return cls(**loaded)


@dataclass(frozen=True)
class Attempt:
    """One delivery being handled: its record as it began, and the revision it wrote."""

    key: str
    delivery: int
    record: AttemptRecord
    revision: int = 0


class FailureCounter(Protocol):
    async def begin(self, consumer: str, message_key: str, delivery: int) -> Attempt:
        """Mark delivery `delivery` of `message_key` as started, before its handler runs."""
        ...

    async def fail(self, attempt: Attempt) -> int:
        """The attempt ended in a deterministic failure; returns the failures so far."""
        ...

    async def end(self, attempt: Attempt) -> None:
        """The attempt ended with an outcome that is retried later (a delayed nack)."""
        ...

    async def forget(self, attempt: Attempt) -> None:
        """The message is settled for good: nothing about it is kept."""
        ...


Change = Callable[[AttemptRecord], AttemptRecord]


class KvFailureCounter:
    """The production store: one compare-and-set KV key per (consumer, stream sequence).

    The common case costs two writes: a `create` as the first attempt begins, a delete when it is
    acknowledged. Reads happen only when a record already exists (a redelivery).
    """

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def begin(self, consumer: str, message_key: str, delivery: int) -> Attempt:
        key = f"{consumer}.{message_key}"
        first = AttemptRecord().begun(delivery)
        try:
            return Attempt(key, delivery, first, await self._kv.create(key, first.encode()))
        except KeyWrongLastSequenceError:  # an earlier delivery left its record
            return await self._change(key, delivery, lambda record: record.begun(delivery))

    async def fail(self, attempt: Attempt) -> int:
        return (await self._close(attempt, lambda r: r.failed(attempt.delivery))).failures

    async def end(self, attempt: Attempt) -> None:
        await self._close(attempt, lambda r: r.ended(attempt.delivery))

    async def forget(self, attempt: Attempt) -> None:
        await self._kv.delete(attempt.key)

    async def _close(self, attempt: Attempt, change: Change) -> AttemptRecord:
        changed = change(attempt.record)
        try:
            await self._kv.update(attempt.key, changed.encode(), last=attempt.revision)
        except KeyWrongLastSequenceError:  # another delivery of it began since (ack wait ran out)
            return (await self._change(attempt.key, attempt.delivery, change)).record
        return changed

    async def _change(self, key: str, delivery: int, change: Change) -> Attempt:
        while True:
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError:
                entry = None
            changed = change(AttemptRecord.decode(entry.value if entry else None))
            try:
                if entry is None:
                    revision = await self._kv.create(key, changed.encode())
                else:
                    revision = await self._kv.update(key, changed.encode(), last=entry.revision)
            except KeyWrongLastSequenceError:
                continue
            return Attempt(key, delivery, changed, revision)


class MemoryFailureCounter:
    """For FastStream's in-memory test broker, which has no KV: the same records, in a dict."""

    def __init__(self) -> None:
        self._records: dict[str, AttemptRecord] = {}

    async def begin(self, consumer: str, message_key: str, delivery: int) -> Attempt:
        key = f"{consumer}.{message_key}"
        return Attempt(key, delivery, self._change(key, lambda r: r.begun(delivery)))

    async def fail(self, attempt: Attempt) -> int:
        return self._change(attempt.key, lambda r: r.failed(attempt.delivery)).failures

    async def end(self, attempt: Attempt) -> None:
        self._change(attempt.key, lambda r: r.ended(attempt.delivery))

    async def forget(self, attempt: Attempt) -> None:
        self._records.pop(attempt.key, None)

    def _change(self, key: str, change: Change) -> AttemptRecord:
        self._records[key] = change(self._records.get(key, AttemptRecord()))
        return self._records[key]
