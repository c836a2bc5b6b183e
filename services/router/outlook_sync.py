"""The I/O of the Outlook write-back: show a case on its message, never over a person's change
(R11, R12, R17).

The last step of every fact (`flow.py`), and of the watch for write-backs Graph was too busy for.
What to write is planned by `outlook.plan_writeback` (pure); this module picks the version of the
message to plan on, writes conditionally on it (`If-Match`), handles Graph's 412 and 404, tells
ingest of its own write (bucket `sakspost_writebacks`) and notes the write in the case record.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from services.common.clock import Clock
from services.common.errors import TransientError
from services.common.flags import FlagStatus
from services.router.cas import retrying
from services.router.context import RouterContext
from services.router.graph_io import MessageGone, OutlookWriter, WriteConflict
from services.router.outlook import (
    WriteBackPlan,
    holds_unheard_intent,
    note_written_back,
    plan_writeback,
)
from services.router.record import CaseRecord
from services.router.store import CaseStore, Loaded

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Shown:
    """What Outlook shows on the message, as a `changed` event or a read of it said, and which
    version of the message that is (its change key; None when unknown)."""

    categories: list[str]
    flag: FlagStatus | None
    change_key: str | None = None


def _basis(record: CaseRecord, shown: Shown | None) -> Shown | None:
    """The version of the message to plan a write on: the one a `changed` event showed, else the
    one we last wrote, else the one ingest read on arrival; None when none has a change key (the
    message is read first). A stale one costs a 412 and a read, never a person's change."""
    if shown is not None and shown.change_key is not None:
        return shown
    if shown is not None:
        return None
    last = record.writeback
    if last is not None:
        return (
            Shown(list(last.categories), last.flag_status, last.change_key)
            if last.change_key
            else None
        )
    arrived = record.received_version
    if arrived is not None:
        return Shown(list(arrived.categories), arrived.flag_status, arrived.change_key)
    return None


class OutlookSync:
    def __init__(
        self,
        ctx: RouterContext,
        store: CaseStore,
        writer: OutlookWriter,
        clock: Clock,
        max_attempts: int,
    ) -> None:
        self._ctx = ctx
        self._store = store
        self._writer = writer
        self._clock = clock
        self._max_attempts = max_attempts

    async def write_back(
        self, record: CaseRecord, shown: Shown | None = None, loaded: Loaded | None = None
    ) -> None:
        """Show the case on its message in Outlook, unless Outlook shows it already. `loaded` is
        the record as the caller read or wrote it, with its revision, if it has that: the write is
        then noted in the record without reading it again.

        The write is planned on one version of the message (`shown`, else the one we last wrote,
        else the one read now) and is conditional on it (`If-Match`). When a person changed the
        message since, Graph refuses it (412) and nothing is overwritten: the record and the
        message are read again and the write is planned afresh, unless the message now carries a
        change the record does not reflect yet (a caseworker's new `Tildelt:`, class or completed
        flag). Then nothing is written: that change's own `changed` event is on its way, and its
        write-back follows once the record reflects it (R11, R17).
        """
        mailbox = self._ctx.org.departments[record.mailbox_department].mailbox
        graph_id = record.graph_message_id
        basis = _basis(record, shown)
        for _ in range(self._max_attempts):
            try:
                if basis is None:
                    basis = await self._read_unless_unheard(mailbox, record)
                    if basis is None:
                        return
                plan = plan_writeback(
                    record,
                    self._ctx.org,
                    shown_categories=basis.categories,
                    shown_flag=basis.flag,
                )
                if plan is None:
                    return
                revision = await self._store.mark_writeback_pending(graph_id)
                try:
                    change_key = await self._writer.write(
                        mailbox, graph_id, plan, if_match=basis.change_key
                    )
                except (WriteConflict, MessageGone):
                    # Nothing was written: ingest must not hold the change that refused us back.
                    await self._store.withdraw_pending(graph_id, revision, record.writeback)
                    raise
            except MessageGone:
                log.warning("message gone; nothing to write back", case_id=record.case_id)
                return
            except WriteConflict:
                log.info("message changed since the write was planned", case_id=record.case_id)
                reloaded = await self._store.load(record.case_id)
                if reloaded is None:
                    return
                loaded, record, basis = reloaded, reloaded.record, None
                continue
            if change_key is not None:
                await self._store.publish_change_key(
                    graph_id, change_key, plan.categories, plan.flag.status
                )
            await self._note_written(record.case_id, loaded, plan, change_key)
            return
        raise TransientError(f"case {record.case_id}: the message keeps changing in Outlook")

    async def _read_unless_unheard(self, mailbox: str, record: CaseRecord) -> Shown | None:
        """The message as it is now, to plan on; None when it holds a change not yet heard."""
        state = await self._writer.read(mailbox, record.graph_message_id)
        if holds_unheard_intent(
            record, self._ctx.org, state.change_key, state.categories, state.flag
        ):
            log.info(
                "a change in Outlook is not heard yet; the write-back waits for it",
                case_id=record.case_id,
            )
            return None
        return Shown(state.categories, state.flag, state.change_key)

    async def _note_written(
        self, case_id: str, loaded: Loaded | None, plan: WriteBackPlan, change_key: str | None
    ) -> None:
        """Remember the write in the case record (compare-and-set, keeping its outbox): on the
        record as `loaded` first, read again when there is none or someone wrote it since."""
        known = loaded
        for attempt in retrying(self._max_attempts, f"case {case_id}"):
            with attempt:
                current = known or await self._store.load(case_id)
                known = None  # a lost compare-and-set reads the record again
                if current is None:
                    return
                noted = note_written_back(
                    current.record,
                    categories=plan.categories,
                    flag_status=plan.flag.status,
                    flag_due=plan.flag.due,
                    change_key=change_key,
                    at=self._clock(),
                )
                await self._store.save(current, noted, current.outbox)
