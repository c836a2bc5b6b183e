"""The archive's manual actions as commands answered by websak (R10, R14, issue 19):
`sakspost.cmd.retry_archive` files again a mail WebSak refused, once the reason is fixed;
`sakspost.cmd.archive_reply` files a reply a shared mailbox sent as an outgoing journalpost.

Both run in the service, as the service's own identity, with the same exactly-once steps as every
routed mail (a receipt per case: a repeated request finds the journalpost already made). Who asked
is the token's actor (`services/common/commanding.py`), checked against the department (a retry:
the case's; a reply: the sending mailbox's) and recorded on the receipt as `by`.
"""

from __future__ import annotations

import structlog

from schemas.commands import ArchiveReply, ArchiveReplyRequest, ArchiveRetryRequest, ErrorCode, Verb
from services.common.actors import Actor
from services.common.commanding import Gate, Refused
from services.common.rights import Action
from services.websak.archiving import Archiver, Outcome

log = structlog.get_logger(__name__)

_ARCHIVED = (Outcome.ARCHIVED, Outcome.ALREADY_ARCHIVED)


class ArchiveCommands:
    def __init__(self, archiver: Archiver, gate: Gate) -> None:
        self._archiver = archiver
        self._gate = gate

    async def retry(self, request: ArchiveRetryRequest, actor: Actor) -> ArchiveReply:
        stored = await self._archiver.receipts.get(request.case_id)
        if stored is None:
            raise Refused(
                ErrorCode.UNKNOWN_CASE,
                f"websak has no receipt for case {request.case_id!r}",
                case_id=request.case_id,
            )
        receipt = stored[0]
        self._gate.require(
            Verb.RETRY_ARCHIVE,
            actor,
            Action.RETRY_ARCHIVE,
            receipt.request.department,
            None,
            request.case_id,
        )
        if receipt.refusal is None:
            raise Refused(
                ErrorCode.NOT_REFUSED,
                f"case {request.case_id} was not refused (it is retried automatically)",
                case_id=request.case_id,
            )
        outcome = await self._archiver.archive_case(
            receipt.request.model_copy(update={"by": actor.id}), retry=True
        )
        log.info("archive_retried", case_id=request.case_id, by=actor.id, outcome=outcome.value)
        return await self._reply(request.case_id, outcome)

    async def reply(self, request: ArchiveReplyRequest, actor: Actor) -> ArchiveReply:
        found = await self._archiver.receipts.outgoing(request.case_id)
        if found is None:
            raise Refused(
                ErrorCode.UNKNOWN_CASE,
                f"websak has not heard of the sent mail {request.case_id!r} (a `sent` event's)",
                case_id=request.case_id,
            )
        self._gate.require(
            Verb.ARCHIVE_REPLY,
            actor,
            Action.ARCHIVE_REPLY,
            found[0].department,
            None,
            request.case_id,
        )
        outcome = await self._archiver.archive_outgoing(request.case_id, actor.id)
        if outcome is Outcome.NOT_IN_ARCHIVE_CASE:
            raise Refused(
                ErrorCode.NOT_ARCHIVABLE,
                "its conversation has no archived mail yet: archive that first",
                case_id=request.case_id,
            )
        return await self._reply(request.case_id, outcome)

    async def _reply(self, case_id: str, outcome: Outcome | None) -> ArchiveReply:
        stored = await self._archiver.receipts.get(case_id)
        receipt = stored[0] if stored else None
        if outcome not in _ARCHIVED or receipt is None:
            reason = receipt.refusal.reason if receipt and receipt.refusal else str(outcome)
            raise Refused(ErrorCode.NOT_ARCHIVABLE, reason, case_id=case_id)
        return ArchiveReply(
            case_id=case_id,
            outcome=outcome.value if outcome else None,
            journalpost_id=receipt.journalpost_id,
            registry_number=receipt.registry_number,
            archive_case_id=receipt.archive_case_id,
            by=receipt.request.by,
        )
