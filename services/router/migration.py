"""The upgrade from one workboard for every department to one per department, run at start.

Versions before kept every open case and the rotation in the single key `workboard`. A router that
starts and finds that key splits it: each listed case goes onto the board of the department its
record names now (the record is the truth; the old key never said the department), closed ones
are dropped, each department's rotation comes along, and the old key is deleted last, with
compare-and-set, so a router of the old version still writing it makes the split start over (the
watch tries again every tick, `CaseFlow.split_legacy_workboard`). A crash halfway leaves the old
key in place and the split runs again; bringing a board in line with a record is idempotent, so
nothing is counted twice.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from services.router.cas import retrying
from services.router.record import CaseRecord
from services.router.store import CaseStore


async def split_legacy_workboard(store: CaseStore, max_attempts: int) -> int | None:
    """Split the single board into the departments' boards; the number of open cases moved, or
    None when there was no single board."""
    for attempt in retrying(max_attempts, "workboard split"):
        with attempt:
            moved = await _split(store, max_attempts)
    return moved


async def _split(store: CaseStore, max_attempts: int) -> int | None:
    legacy = await store.load_legacy_workboard()
    if legacy is None:
        return None
    board, revision = legacy
    loaded = await asyncio.gather(*(store.load(case_id) for case_id in board.open_cases))
    by_department: dict[str, list[CaseRecord]] = defaultdict(list)
    for item in loaded:
        if item is not None and item.record.is_open:
            by_department[item.record.department].append(item.record)
    rotation = board.rotation.last_picked
    for department in sorted({*by_department, *rotation}):
        records = by_department.get(department, [])
        await _merge(store, department, records, rotation.get(department), max_attempts)
    await store.delete_legacy_workboard(revision)
    return sum(len(records) for records in by_department.values())


async def _merge(
    store: CaseStore,
    department: str,
    records: list[CaseRecord],
    last_picked: str | None,
    max_attempts: int,
) -> None:
    """Add `records` to the department's board; its own rotation, if it has one, stays."""
    for attempt in retrying(max_attempts, f"workboard {department}"):
        with attempt:
            board, revision = await store.load_workboard(department)
            merged = board
            for record in records:
                merged = merged.synced(record)
            if merged.last_picked is None and last_picked is not None:
                merged = merged.model_copy(update={"last_picked": last_picked})
            if merged is not board:
                await store.save_workboard(merged, revision)
