"""Compare-and-set, retried: the one way the router changes a key in KV (R11).

Every read-modify-write (a case record, the workboard, a conversation's first case, the note of a
write-back) reads the key, computes the new value and writes it conditional on the revision it read.
When another writer came first the write raises `Conflict`, and the whole attempt is redone on fresh
data:

    for attempt in retrying(max_attempts, f"case {case_id}"):
        with attempt:
            loaded = await store.load(case_id)
            ...
            await store.save(loaded, new_record, events)

The attempt's body runs in the caller (no callback), so the code reads top to bottom. After
`max_attempts` lost writes the change fails as transient (`TransientError`) and is retried later.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from services.common.errors import TransientError


class Conflict(Exception):
    """Another writer changed the key since it was read: read again and redo the change."""


class Attempt:
    """One try of a read-modify-write; leaving it with `Conflict` asks for another."""

    def __init__(self) -> None:
        self.succeeded = False

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if kind is None:
            self.succeeded = True
            return False
        return issubclass(kind, Conflict)


def retrying(max_attempts: int, what: str) -> Iterator[Attempt]:
    """Attempts until one finishes without `Conflict`; `TransientError` after `max_attempts`."""
    for _ in range(max_attempts):
        attempt = Attempt()
        yield attempt
        if attempt.succeeded:
            return
    raise TransientError(f"{what}: too many concurrent writers")
