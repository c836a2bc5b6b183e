"""The offboarding sweep (R16): read a whole personal mailbox before it is deleted.

Page by page (a Graph next link is the cursor), each mail is read and judged in memory; the Graph
ids of official and archival mail, never their content, go into the checkpoint with the cursor
after every page, so a killed sweep resumes where it stopped. Graph's throttling (429/503 with
Retry-After) is waited out: a sweep is a long read, and Retry-After is exactly how long to wait.
The owner then gets the report (counts and subjects); with `forward`, the mail goes to Sakspost
as the live watch would forward it (R9c). A mail that cannot be judged, forwarded or reported (a
control character in its subject) is logged, alerted once and skipped (`services/common/
isolation.py`): the sweep goes on with the rest. A connection lost is not skipped: the sweep stops
and resumes from its checkpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import structlog

from schemas.vocab import MailClass
from services.common.errors import TRANSIENT_ERRORS, TransientError
from services.common.isolation import Isolation, item_key
from services.common.orgconfig import StaffMember
from services.ingest.gateway import GraphGateway
from services.ingest.personal import texts
from services.ingest.personal.mailroom import Judged, Mailroom
from services.ingest.personal.state import PersonalState, SweepCheckpoint
from services.ingest.personal.verdict import Forward

log = structlog.get_logger(__name__)

T = TypeVar("T")
PAGE_SIZE = 100
CONCURRENCY = 4  # Exchange's limit per app and mailbox
DEFAULT_WAIT_SECONDS = 1.0

Progress = Callable[[int], None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class SweepReport:
    read: int
    found: list[tuple[MailClass, str]]  # class and subject, for the owner's report only
    forwarded: int
    throttled: int


class Sweep:
    def __init__(
        self,
        owner: StaffMember,
        gateway: GraphGateway,
        mailroom: Mailroom,
        state: PersonalState,
        *,
        forward: bool,
        isolation: Isolation,
        progress: Progress = lambda _read: None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._owner = owner
        self._gateway = gateway
        self._mailroom = mailroom
        self._state = state
        self._forward = forward
        self._isolation = isolation
        self._progress = progress
        self._sleep = sleep
        self.throttled = 0

    async def _patiently(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a Graph call, waiting out throttling for as long as Graph asks."""
        while True:
            try:
                return await call()
            except TransientError as error:
                self.throttled += 1
                await self._sleep(error.retry_after or DEFAULT_WAIT_SECONDS)

    async def run(self) -> SweepReport:
        checkpoint = await self._state.checkpoint(self._owner.id)
        if checkpoint.reported:
            checkpoint = SweepCheckpoint()  # a finished sweep asked for again starts afresh
        self._progress(checkpoint.read)
        slots = asyncio.Semaphore(CONCURRENCY)
        while not checkpoint.done:
            link = checkpoint.next_link
            ids, next_link = await self._patiently(
                partial(self._gateway.message_page, self._owner.email, link, PAGE_SIZE)
            )
            found = [f for f in await asyncio.gather(*(self._judge(i, slots) for i in ids)) if f]
            checkpoint = await self._settle(checkpoint, found, len(ids), next_link)
            self._progress(checkpoint.read)
        # Forwarding only once everything is read: each forward adds to Sent Items, which would
        # shift the pages still to be read.
        if self._forward:
            for message_id in checkpoint.found:
                if message_id not in checkpoint.forwarded:
                    if not await self._one(message_id, partial(self._forward_one, message_id)):
                        continue
                    forwarded = [*checkpoint.forwarded, message_id]
                    checkpoint = checkpoint.model_copy(update={"forwarded": forwarded})
                    await self._state.save_checkpoint(self._owner.id, checkpoint)
        report = await self._report(checkpoint)
        reported = checkpoint.model_copy(update={"reported": True})
        await self._state.save_checkpoint(self._owner.id, reported)
        return report

    async def _one(self, message_id: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Do `work` for one mail, isolated; False when it failed and was skipped. The item is
        named by a hash: a personal mail's Graph id stays out of logs and alerts."""
        item = f"{self._owner.id}/{item_key(message_id)}"
        return await self._isolation.run(item, work, propagate=TRANSIENT_ERRORS)

    async def _judge(self, message_id: str, slots: asyncio.Semaphore) -> str | None:
        """The id when the mail is official or archival (judged in memory, then forgotten)."""
        official: list[str] = []

        async def judge() -> None:
            async with slots:
                if await self._official(message_id) is not None:
                    official.append(message_id)

        await self._one(message_id, judge)
        return official[0] if official else None

    async def _settle(
        self, checkpoint: SweepCheckpoint, found: list[str], read: int, next_link: str | None
    ) -> SweepCheckpoint:
        updated = SweepCheckpoint(
            next_link=next_link,
            read=checkpoint.read + read,
            found=checkpoint.found + [i for i in found if i not in checkpoint.found],
            done=next_link is None,
        )
        await self._state.save_checkpoint(self._owner.id, updated)
        return updated

    async def _official(self, message_id: str) -> tuple[bytes, Judged, Forward] | None:
        """The mail, its judgement and where it goes, when the live watch would forward it on its
        own; None for any other mail (and one gone, or over a limit)."""
        raw = await self._patiently(lambda: self._mailroom.read(self._owner, message_id))
        if raw is None:
            return None
        judged = await self._mailroom.judge(self._owner, raw)
        if judged is None:
            return None
        verdict = self._mailroom.received_verdict(judged)
        return (raw, judged, verdict) if isinstance(verdict, Forward) else None

    async def _forward_one(self, message_id: str) -> None:
        official = await self._official(message_id)
        if official is not None:
            raw, judged, verdict = official
            await self._patiently(lambda: self._mailroom.forward(self._owner, raw, judged, verdict))

    async def _report(self, checkpoint: SweepCheckpoint) -> SweepReport:
        """Tell the owner what was found; the subjects are read again, never kept."""
        found: list[tuple[MailClass, str]] = []

        async def read_again(message_id: str) -> None:
            raw = await self._patiently(partial(self._mailroom.read, self._owner, message_id))
            judged = None if raw is None else await self._mailroom.judge(self._owner, raw)
            if judged is not None:
                found.append((judged.classification.mail_class, judged.mail.subject))

        for message_id in checkpoint.found:
            await self._one(message_id, partial(read_again, message_id))
        title, body = texts.sweep_report(
            self._owner.language, checkpoint.read, found, self._forward
        )
        await self._patiently(
            lambda: self._mailroom.tell_owner(self._owner, title, body, title.encode())
        )
        log.info(
            "sweep finished",
            read=checkpoint.read,
            found=len(found),
            forwarded=len(checkpoint.forwarded),
            throttled=self.throttled,
        )
        return SweepReport(checkpoint.read, found, len(checkpoint.forwarded), self.throttled)
