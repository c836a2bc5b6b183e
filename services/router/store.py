"""The case records in KV (bucket `sakspost_cases`), written only by the router, always with
compare-and-set on the revision (a lost one raises `cas.Conflict`), so two replicas never overwrite
each other's update.

Keys:
- `case.<case_id>`: the record and its outbox (the events of its latest transition, kept until they
  are published, so a crash between the write and the publish loses nothing);
- `thread.<digest of conversation id>`: the first case of a conversation (the `thread` policy);
- `workboard.<department>`: the department's open cases, their assignees and its rotation (see
  `workboard.py`); one key per department, so departments never contend for one;
- `workboard`: the single board of every department that earlier versions kept, read once and
  split at start (`migration.py`), then deleted.

And in the router's own bucket `sakspost_writebacks`, `writeback.<graph_message_id>`: the change
key of the router's latest write to that message, so ingest (which only reads that bucket) can
skip our own echoes without asking Graph.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field

from schemas.events import ALL_MODELS, Event
from services.common.conversation import conversation_key
from services.common.kvread import live_entries
from services.common.presence import Presence, away_key
from services.common.writeback import pending_marker, writeback_key, written_marker
from services.router.cas import Conflict
from services.router.record import CaseRecord, WriteBack
from services.router.workboard import LegacyWorkboard, Workboard

CASE_PREFIX = "case."
THREAD_PREFIX = "thread."
WORKBOARD_PREFIX = "workboard."
LEGACY_WORKBOARD_KEY = "workboard"
# Case ids are short base32 tokens; anything else (a typo, a wildcard) is simply not a case.
_CASE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    record: CaseRecord
    outbox: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(frozen=True)
class Loaded:
    record: CaseRecord
    outbox: tuple[Event, ...]
    revision: int


def _event_from(payload: dict[str, Any]) -> Event:
    model = ALL_MODELS.get(str(payload.get("type")))
    if model is None or not issubclass(model, Event):
        raise ValueError(f"the outbox holds an unknown event type {payload.get('type')!r}")
    return model.model_validate(payload)


def _encode(record: CaseRecord, outbox: Sequence[Event]) -> bytes:
    stored = _Stored(record=record, outbox=[event.model_dump(mode="json") for event in outbox])
    return stored.model_dump_json().encode("utf-8")


def _decode(data: bytes | None, revision: int) -> Loaded:
    stored = _Stored.model_validate_json(data or b"")
    return Loaded(stored.record, tuple(_event_from(p) for p in stored.outbox), revision)


def is_case_id(text: str) -> bool:
    return bool(_CASE_ID.match(text))


def _thread_key(conversation_id: str) -> str:
    return THREAD_PREFIX + conversation_key(conversation_id)


class CaseStore:
    def __init__(self, cases: KeyValue, writebacks: KeyValue) -> None:
        self._cases = cases
        self._writebacks = writebacks

    # --- case records ---------------------------------------------------------------------

    async def load(self, case_id: str) -> Loaded | None:
        if not is_case_id(case_id):
            return None
        try:
            entry = await self._cases.get(CASE_PREFIX + case_id)
        except KeyNotFoundError:
            return None
        return _decode(entry.value, entry.revision or 0)

    async def create(self, record: CaseRecord) -> Loaded | None:
        """Store a new record; None when the case already exists."""
        try:
            revision = await self._cases.create(CASE_PREFIX + record.case_id, _encode(record, ()))
        except KeyWrongLastSequenceError:
            return None
        return Loaded(record, (), revision)

    async def save(self, loaded: Loaded, record: CaseRecord, outbox: Sequence[Event]) -> Loaded:
        """Replace the record read as `loaded`; `Conflict` when someone wrote in between."""
        try:
            revision = await self._cases.update(
                CASE_PREFIX + record.case_id, _encode(record, outbox), last=loaded.revision
            )
        except KeyWrongLastSequenceError:
            raise Conflict(record.case_id) from None
        return Loaded(record, tuple(outbox), revision)

    async def records(self) -> list[CaseRecord]:
        """Every case record, read in one pass over the bucket."""
        entries = await live_entries(self._cases, CASE_PREFIX + "*")
        return [_decode(entry.value, entry.revision or 0).record for entry in entries.values()]

    # --- who is away ------------------------------------------------------------------------

    async def save_presence(self, presence: Presence) -> None:
        """What the router saw of the department's automatic replies (the overview reads it)."""
        await self._cases.put(away_key(presence.department), presence.model_dump_json().encode())

    # --- the workboards -------------------------------------------------------------------

    async def load_workboard(self, department: str) -> tuple[Workboard, int]:
        """The department's board and its revision (0: no board yet)."""
        try:
            entry = await self._cases.get(WORKBOARD_PREFIX + department)
        except KeyNotFoundError:
            return Workboard(department=department), 0
        return Workboard.model_validate_json(entry.value or b""), entry.revision or 0

    async def save_workboard(self, board: Workboard, revision: int) -> int:
        key, data = WORKBOARD_PREFIX + board.department, board.model_dump_json().encode("utf-8")
        try:
            if revision == 0:
                return await self._cases.create(key, data)
            return await self._cases.update(key, data, last=revision)
        except KeyWrongLastSequenceError:
            raise Conflict(key) from None

    async def load_legacy_workboard(self) -> tuple[LegacyWorkboard, int] | None:
        """The single board of earlier versions and its revision, if there still is one."""
        try:
            entry = await self._cases.get(LEGACY_WORKBOARD_KEY)
        except KeyNotFoundError:
            return None
        return LegacyWorkboard.model_validate_json(entry.value or b"{}"), entry.revision or 0

    async def delete_legacy_workboard(self, revision: int) -> None:
        """Delete the single board, unless someone wrote it since `revision` was read."""
        try:
            await self._cases.delete(LEGACY_WORKBOARD_KEY, last=revision)
        except KeyWrongLastSequenceError:
            raise Conflict(LEGACY_WORKBOARD_KEY) from None

    # --- conversations --------------------------------------------------------------------

    async def first_case_of(self, conversation_id: str) -> tuple[str, int] | None:
        """The case id of a conversation's first mail, and the key's revision."""
        try:
            entry = await self._cases.get(_thread_key(conversation_id))
        except KeyNotFoundError:
            return None
        return (entry.value or b"").decode("utf-8"), entry.revision or 0

    async def set_first_case(self, conversation_id: str, case_id: str, revision: int) -> None:
        key, value = _thread_key(conversation_id), case_id.encode("utf-8")
        try:
            if revision == 0:
                await self._cases.create(key, value)
            else:
                await self._cases.update(key, value, last=revision)
        except KeyWrongLastSequenceError:
            raise Conflict(key) from None

    # --- what ingest may read -------------------------------------------------------------

    async def mark_writeback_pending(self, graph_message_id: str) -> int:
        """Before a PATCH: ingest holds its echo back until the change key is known. Returns the
        mark's revision, for `withdraw_pending`."""
        return await self._writebacks.put(
            writeback_key(graph_message_id), pending_marker(time.time())
        )

    async def withdraw_pending(
        self, graph_message_id: str, revision: int, last: WriteBack | None
    ) -> None:
        """After a PATCH that changed nothing (412, 404): put back our latest write, so ingest
        reads the change that refused our write now instead of holding it back until the mark
        expires. Only our own mark is replaced: a newer write's mark or key stays."""
        # An empty value reads as "no write of ours known" (`read_writeback`).
        value = b""
        if last is not None and last.change_key is not None:
            value = written_marker(last.change_key, last.categories, last.flag_status)
        with contextlib.suppress(KeyWrongLastSequenceError):
            await self._writebacks.update(writeback_key(graph_message_id), value, last=revision)

    async def publish_change_key(
        self, graph_message_id: str, change_key: str, categories: list[str], flag_status: str
    ) -> None:
        """Tell ingest the change key of our latest write and what it wrote, so it can skip its
        echo and still see a person's change that puts back an older state."""
        await self._writebacks.put(
            writeback_key(graph_message_id), written_marker(change_key, categories, flag_status)
        )
