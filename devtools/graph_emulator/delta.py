"""Delta query per folder: opaque tokens that are marks in the mailbox's change sequence.

A round fixes its upper mark when it starts; pages walk the changes above the lower mark in
sequence order, so a message changed during a round is simply seen again in the next one.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.store import FolderKey, Mailbox, StoredMessage, Tombstone

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
CHANGE_TYPES = ("created", "updated", "deleted")


@dataclass(frozen=True)
class DeltaState:
    folder: FolderKey
    since: int  # changes after this mark are reported
    upto: int  # the round's upper mark, fixed when it started
    after: int  # the last sequence already returned in this round
    page_size: int
    select: list[str] | None
    change_types: tuple[str, ...]

    def encode(self) -> str:
        data = [
            self.folder, self.since, self.upto, self.after, self.page_size,
            self.select, list(self.change_types),
        ]  # fmt: skip
        return base64.urlsafe_b64encode(json.dumps(data).encode("utf-8")).decode("ascii")

    @staticmethod
    def decode(token: str, folder: FolderKey) -> DeltaState:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
            name, since, upto, after, size, select, kinds = raw
            state = DeltaState(
                name, int(since), int(upto), int(after), int(size), select, tuple(kinds)
            )
        except (binascii.Error, ValueError, TypeError, UnicodeError):
            raise GraphError(
                400, "SyncStateInvalid", "The sync state token is not valid."
            ) from None
        if state.folder != folder:
            raise GraphError(400, "SyncStateInvalid", "The sync state belongs to another folder.")
        return state


def parse_change_type(value: str | None) -> tuple[str, ...]:
    if not value:
        return CHANGE_TYPES
    if value not in CHANGE_TYPES:
        raise GraphError(400, "ErrorInvalidParameter", f"Invalid changeType '{value}'.")
    return (value,)


@dataclass(frozen=True)
class DeltaItem:
    seq: int
    entry: StoredMessage | Tombstone  # a tombstone is reported as @removed


def _changes(mailbox: Mailbox, state: DeltaState) -> list[DeltaItem]:
    items: list[DeltaItem] = []
    wanted = state.change_types
    for message in mailbox.in_folder(state.folder):
        if not state.since < message.seq <= state.upto:
            continue
        kind = "created" if message.entered_seq > state.since else "updated"
        if kind in wanted:
            items.append(DeltaItem(message.seq, message))
    if state.since > 0 and "deleted" in wanted:
        present = {m.id for m in mailbox.in_folder(state.folder)}
        for tombstone in mailbox.tombstones:
            if (
                tombstone.folder == state.folder
                and state.since < tombstone.seq <= state.upto
                and tombstone.id not in present
            ):
                items.append(DeltaItem(tombstone.seq, tombstone))
    items.sort(key=lambda item: item.seq)
    return items


def delta_page(mailbox: Mailbox, state: DeltaState) -> tuple[list[DeltaItem], DeltaState, bool]:
    """One page of changes, the state for the next link, and whether the round is complete."""
    pending = [item for item in _changes(mailbox, state) if item.seq > state.after]
    page = pending[: state.page_size]
    if len(pending) > len(page):
        return page, _with(state, after=page[-1].seq), False
    return page, _with(state, since=state.upto, after=state.upto), True


def _with(state: DeltaState, **changes: Any) -> DeltaState:
    values = {**state.__dict__, **changes}
    return DeltaState(**values)


def removed_json(tombstone: Tombstone) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.message",
        "id": tombstone.id,
        "@removed": {"reason": "deleted"},
    }
