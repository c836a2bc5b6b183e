"""Archive receipts: websak's own record of each case's way into the archive (R9a, exactly once).

One receipt per case, in the KV bucket `sakspost_receipts` (websak is its only writer), under
`case.<case_id>`. It is written before the first archive call and after each call that changed the
archive, always with compare-and-set on the revision, so two deliveries of the same mail never both
advance it: the loser gets `ReceiptConflict` (transient) and, retried, resumes from what the winner
recorded. Stages, in order: `started` (placement chosen) → `journalpost_created` (its id) →
`documents_uploaded` (registry number, documents) → `done` (`archived` published).

A permanent refusal is kept on the receipt (`refusal`) with its reason: the mail is never dropped,
and a supervisor can retry it (`sakspost cases retry-archive`, the `retry_archive` command).

The bucket also maps a conversation to the archive case of its first archived mail
(`conversation.<sha256 of the conversation id>`), so later mails of the thread join that case.

Mail a shared mailbox sent (`sent` events) is remembered under `outgoing.<case id>` (department,
MIME, conversation; no content), and the classifier's `sensitive_outgoing` alert about it under
`outgoing-sensitive.<case id>`, so that `archive_reply` can file it later (R14) in a screened
case when it is sensitive (R3). Its receipt is an ordinary one with `outgoing` set.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from nats.js.errors import (
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field

from schemas.events import ArchivedDocument, MailRouted, MailSent, UtcDateTime
from services.common.conversation import conversation_key
from services.common.errors import TransientError
from services.common.kvread import live_entries

CASE_PREFIX = "case."
CONVERSATION_PREFIX = "conversation."
OUTGOING_PREFIX = "outgoing."
SENSITIVE_OUTGOING_PREFIX = "outgoing-sensitive."


class Stage(StrEnum):
    STARTED = "started"
    JOURNALPOST_CREATED = "journalpost_created"
    DOCUMENTS_UPLOADED = "documents_uploaded"
    DONE = "done"


class ReceiptConflict(TransientError):
    """Another delivery of the same case changed the receipt first: retry and resume from it."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ArchiveRequest(_Record):
    """What archiving a case needs from its `routed` event (no mail content)."""

    case_id: str
    department: str
    mime_sha256: str
    sensitive: bool
    conversation_id: str | None
    routed_event_id: str = Field(description="The routed (or, outgoing: sent) event it came from")
    outgoing: bool = False
    by: str | None = Field(
        default=None, description="Who asked by command: filed an outgoing reply, or retried"
    )

    @classmethod
    def from_routed(cls, event: MailRouted, mime_sha256: str) -> ArchiveRequest:
        return cls(
            case_id=event.case_id,
            department=event.department,
            mime_sha256=mime_sha256,
            sensitive=bool(event.sensitive),
            conversation_id=event.conversation_id,
            routed_event_id=event.event_id,
        )


class OutgoingMail(_Record):
    """A mail a shared mailbox sent, as websak needs it to file it by command (no content)."""

    case_id: str
    department: str
    mime_sha256: str
    conversation_id: str | None
    sent_event_id: str

    @classmethod
    def from_sent(cls, event: MailSent) -> OutgoingMail:
        return cls(
            case_id=event.case_id,
            department=event.department,
            mime_sha256=event.mime_sha256,
            conversation_id=event.conversation_id,
            sent_event_id=event.event_id,
        )

    def request(self, *, sensitive: bool, by: str) -> ArchiveRequest:
        return ArchiveRequest(
            case_id=self.case_id,
            department=self.department,
            mime_sha256=self.mime_sha256,
            sensitive=sensitive,
            conversation_id=self.conversation_id,
            routed_event_id=self.sent_event_id,
            outgoing=True,
            by=by,
        )


class Refusal(_Record):
    reason: str
    at: UtcDateTime
    routed_event_id: str


class Receipt(_Record):
    request: ArchiveRequest
    stage: Stage = Stage.STARTED
    started_at: UtcDateTime
    case_ref: str | None = None
    template_ref: str | None = None
    journalpost_id: str | None = None
    main_sha256: str | None = None
    archive_system: str | None = None
    registry_number: str | None = None
    archive_case_id: str | None = None
    documents: tuple[ArchivedDocument, ...] = ()
    uploaded_at: UtcDateTime | None = None
    overdue_alerted: bool = False
    refusal: Refusal | None = None
    refusals: int = 0

    def but(self, **changes: Any) -> Receipt:
        """A copy with `changes`, validated like a fresh receipt."""
        return Receipt.model_validate({**self.model_dump(), **changes})


class ConversationCase(_Record):
    case_ref: str
    screened: bool
    first_case_id: str


def _conversation_key(conversation_id: str) -> str:
    return CONVERSATION_PREFIX + conversation_key(conversation_id)


class ReceiptStore:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def get(self, case_id: str) -> tuple[Receipt, int] | None:
        try:
            entry = await self._kv.get(CASE_PREFIX + case_id)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return Receipt.model_validate_json(entry.value or b"{}"), entry.revision or 0

    async def create(self, receipt: Receipt) -> int:
        try:
            return await self._kv.create(
                CASE_PREFIX + receipt.request.case_id, receipt.model_dump_json().encode()
            )
        except KeyWrongLastSequenceError:
            raise ReceiptConflict("the receipt was created by another delivery") from None

    async def update(self, receipt: Receipt, revision: int) -> int:
        try:
            return await self._kv.update(
                CASE_PREFIX + receipt.request.case_id,
                receipt.model_dump_json().encode(),
                last=revision,
            )
        except KeyWrongLastSequenceError:
            raise ReceiptConflict("the receipt was changed by another delivery") from None

    async def refused(self) -> list[Receipt]:
        """Every receipt that holds a permanent refusal (for the retry command)."""
        receipts = (
            Receipt.model_validate_json(entry.value or b"{}")
            for entry in (await live_entries(self._kv, CASE_PREFIX + ">")).values()
        )
        return [receipt for receipt in receipts if receipt.refusal is not None]

    async def remember_outgoing(self, mail: OutgoingMail) -> None:
        await self._kv.put(OUTGOING_PREFIX + mail.case_id, mail.model_dump_json().encode())

    async def mark_sensitive_outgoing(self, case_id: str) -> None:
        await self._kv.put(SENSITIVE_OUTGOING_PREFIX + case_id, b"1")

    async def outgoing(self, case_id: str) -> tuple[OutgoingMail, bool] | None:
        """A sent mail websak heard of, and whether the classifier found it sensitive."""
        try:
            entry = await self._kv.get(OUTGOING_PREFIX + case_id)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        try:
            sensitive = bool(await self._kv.get(SENSITIVE_OUTGOING_PREFIX + case_id))
        except (KeyNotFoundError, KeyDeletedError):
            sensitive = False
        return OutgoingMail.model_validate_json(entry.value or b"{}"), sensitive

    async def conversation_case(self, conversation_id: str) -> ConversationCase | None:
        try:
            entry = await self._kv.get(_conversation_key(conversation_id))
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return ConversationCase.model_validate_json(entry.value or b"{}")

    async def remember_conversation(self, conversation_id: str, case: ConversationCase) -> None:
        """Record the conversation's case, unless an earlier mail of it recorded one already."""
        try:
            await self._kv.create(
                _conversation_key(conversation_id), case.model_dump_json().encode()
            )
        except KeyWrongLastSequenceError:
            return
