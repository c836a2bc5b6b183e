"""Deterministic failures per (consumer, message), counted in KV so that a restart keeps the count.

FastStream cannot keep this: JetStream's own delivery count also grows with every transient retry,
and an archive outage of a few hours must never dead-letter archival mail.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue


class FailureCounter(Protocol):
    async def record(self, consumer: str, message_key: str) -> int:
        """Count one more failure of `message_key` in `consumer`; returns the count so far."""
        ...


class KvFailureCounter:
    """The production counter: one compare-and-set KV key per (consumer, stream sequence)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def record(self, consumer: str, message_key: str) -> int:
        key = f"{consumer}.{message_key}"
        while True:
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError:
                try:
                    await self._kv.create(key, b"1")
                except KeyWrongLastSequenceError:
                    continue
                return 1
            count = int(entry.value or b"0") + 1
            try:
                await self._kv.update(key, str(count).encode(), last=entry.revision)
            except KeyWrongLastSequenceError:
                continue
            return count


class MemoryFailureCounter:
    """For FastStream's in-memory test broker, which has no KV: the same counting, in a dict."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    async def record(self, consumer: str, message_key: str) -> int:
        self._counts[f"{consumer}.{message_key}"] += 1
        return self._counts[f"{consumer}.{message_key}"]
