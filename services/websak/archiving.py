"""Archiving one case: from a `routed` event to one complete journalpost and an `archived` event.

Exactly once (R9a): the receipt (`receipts.py`) is written before the first archive call and after
every call that changed the archive; each archive step first reads what the archive already has
(`filing.py`: the journalpost by its marker, the sender by its reference, documents by name). So a
crash between any two calls, a redelivery or a replay resumes the same journalpost and never makes a
second one. The placement (the archive case) is fixed in the receipt before anything is created,
because the marker is only looked for in that case.

Failures (R10): a transient archive error is re-raised as `TransientError` (the consumer retries it
with growing delay, other mail keeps flowing) and, once the mail has waited longer than allowed,
raises one overdue alert. A permanent refusal raises an alert at once and stays on the receipt, so
the mail is never dropped; a new `routed` event for the case or the retry command tries again.

Outgoing (R14): a reply sent from Sakspost is filed by command (`archive_outgoing`) with the same
steps, as an outgoing journalpost (the outgoing template) in its conversation's archive case. It
publishes no `archived` event: that event makes a case Ferdig, and a sent mail is no case of the
router's; the receipt and the command's answer record the journalpost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import structlog
from nats.js.errors import NotFoundError, ObjectNotFoundError

from schemas.events import ArchivedDocument, Event, MailArchived, MailRouted, utc_now
from schemas.identity import make_event_id
from schemas.vocab import DocumentRole, MailClass
from services.common.clock import Clock
from services.common.errors import TransientError
from services.common.mimelimits import MailTooLarge
from services.common.orgconfig import Organisation
from services.common.outgoing import original_of
from services.common.seal import SigningKeys
from services.common.workers import OverLimit, WorkerPool
from services.websak.alerts import overdue_alert, refusal_alert, unarchivable_alert
from services.websak.archive import (
    Archive,
    Document,
    JournalpostRef,
    PermanentArchiveError,
    TransientArchiveError,
)
from services.websak.config import (
    ArchivingOptions,
    Placement,
    WebSakConfigError,
    WebSakPlacement,
)
from services.websak.filing import (
    Submission,
    ensure_documents,
    ensure_journalpost,
    ensure_sender,
)
from services.websak.pending import PendingArchive
from services.websak.receipts import (
    ArchiveRequest,
    ConversationCase,
    Receipt,
    ReceiptStore,
    Refusal,
    Stage,
)
from services.websak.render import render_mail_pdf
from services.websak.submission import build_submission

log = structlog.get_logger(__name__)

MimeSource = Callable[[str], Awaitable[bytes]]
Publish = Callable[[Event], Awaitable[Any]]


class Outcome(StrEnum):
    ARCHIVED = "archived"
    ALREADY_ARCHIVED = "already_archived"
    NOT_ARCHIVAL = "not_archival"
    REFUSED = "refused"
    REFUSED_BEFORE = "refused_before"
    NOT_IN_ARCHIVE_CASE = "not_in_archive_case"


class _Refused(Exception):
    """This mail cannot be archived until someone fixes the reason (internal signal)."""


class _Tracked:
    """The receipt being advanced and its KV revision, saved with compare-and-set."""

    def __init__(self, store: ReceiptStore, receipt: Receipt, revision: int) -> None:
        self._store = store
        self.receipt = receipt
        self.revision = revision

    async def save(self, **changes: Any) -> Receipt:
        updated = self.receipt.but(**changes)
        self.revision = await self._store.update(updated, self.revision)
        self.receipt = updated
        return updated


def prepare_submission(
    raw: bytes,
    org: Organisation,
    keys: SigningKeys,
    request: ArchiveRequest,
    options: ArchivingOptions,
    marker_key: bytes,
) -> Submission:
    """Run in a worker process (issue #16: parsing and rendering a mail is the sender's to make
    costly): the submission of one mail, rendered as PDF. A forward from a personal mailbox (R9c)
    is filed as the original it carries, when Sakspost's seal on it verifies (its age was
    ingest's check: websak files later)."""
    original = original_of(raw, org, keys, None)
    pdf = render_mail_pdf(
        original,
        sensitive=request.sensitive,
        language=options.language,
        max_image_pixels=options.max_image_pixels,
        max_mail_image_pixels=options.max_mail_image_pixels,
        max_images=options.max_images,
    )
    return build_submission(
        original,
        case_id=request.case_id,
        sensitive=request.sensitive,
        marker_key=marker_key,
        pdf=pdf,
        wrapper=raw if original is not raw else None,
        outgoing=request.outgoing,
    )


@dataclass
class Archiver:
    archive: Archive
    placement: WebSakPlacement
    receipts: ReceiptStore
    mime: MimeSource
    publish: Publish
    org: Organisation
    keys: SigningKeys
    alert_after: timedelta
    marker_key: bytes = field(repr=False)
    options: ArchivingOptions
    # Where each mail is rendered: never on the event loop, within a CPU-time and memory limit.
    workers: WorkerPool
    # What this replica is filing, for the metric of the oldest pending mail.
    pending: PendingArchive
    clock: Clock = utc_now

    async def on_routed(self, event: MailRouted) -> Outcome:
        """The handler of a `routed` event: only arkivverdig mail is archived (R9a, R9b, R9d)."""
        if event.mail_class is not MailClass.ARKIVVERDIG:
            return Outcome.NOT_ARCHIVAL
        if event.mime_sha256 is None:
            await self.publish(
                unarchivable_alert(
                    event.case_id,
                    event.department,
                    event.event_id,
                    "the routed event names no mime_sha256 (the router must fill it)",
                    self.clock(),
                )
            )
            return Outcome.REFUSED
        return await self.archive_case(ArchiveRequest.from_routed(event, event.mime_sha256))

    async def archive_outgoing(self, case_id: str, by: str) -> Outcome | None:
        """File a sent reply as an outgoing journalpost in its conversation's case (R14).

        None when websak never heard of the sent mail; NOT_IN_ARCHIVE_CASE when its conversation
        has no archived mail yet (archive that first: the reply belongs in the same case).
        """
        found = await self.receipts.outgoing(case_id)
        if found is None:
            return None
        mail, sensitive = found
        if mail.conversation_id is None or (
            await self.receipts.conversation_case(mail.conversation_id) is None
        ):
            return Outcome.NOT_IN_ARCHIVE_CASE
        outcome = await self.archive_case(mail.request(sensitive=sensitive, by=by), retry=True)
        log.info("outgoing_archived", case_id=case_id, by=by, outcome=outcome.value)
        return outcome

    async def archive_case(self, request: ArchiveRequest, *, retry: bool = False) -> Outcome:
        """Bring the case's journalpost to complete and publish `archived`, resuming any receipt.

        `retry` tries again a case whose last attempt was refused for this same `routed` event.
        """
        tracked = await self._receipt(request)
        receipt = tracked.receipt
        if receipt.stage is Stage.DONE:
            self.pending.finished(request.case_id)
            return Outcome.ALREADY_ARCHIVED
        self.pending.trying(request.case_id, receipt.started_at, self.clock())
        if receipt.refusal is not None:
            if receipt.refusal.routed_event_id == request.routed_event_id and not retry:
                return Outcome.REFUSED_BEFORE
            # A new `routed` event for the case, or the retry command: try again, in the same
            # archive case if one was chosen (the marker is only looked for there).
            await tracked.save(refusal=None, request=request)
        try:
            if tracked.receipt.case_ref is None:
                await self._place(tracked)
            if tracked.receipt.stage is not Stage.DOCUMENTS_UPLOADED:
                await self._file(tracked)
        except TransientArchiveError as error:
            await self._alert_if_overdue(tracked, str(error))
            raise TransientError(str(error)) from error
        except _Refused as refused:
            await self._refuse(tracked, str(refused))
            self.pending.finished(request.case_id)
            return Outcome.REFUSED
        if not request.outgoing:
            await self.publish(archived_event(tracked.receipt))
        await tracked.save(stage=Stage.DONE)
        self.pending.finished(request.case_id)
        log.info("mail_archived", case_id=request.case_id, department=request.department)
        return Outcome.ARCHIVED

    async def _receipt(self, request: ArchiveRequest) -> _Tracked:
        stored = await self.receipts.get(request.case_id)
        if stored is not None:
            return _Tracked(self.receipts, *stored)
        receipt = Receipt(request=request, started_at=self.clock())
        return _Tracked(self.receipts, receipt, await self.receipts.create(receipt))

    async def _place(self, tracked: _Tracked) -> None:
        """Choose the archive case once: the conversation's case, else the department's own."""
        request = tracked.receipt.request
        try:
            own = self.placement.placement(
                request.department, sensitive=request.sensitive, outgoing=request.outgoing
            )
        except WebSakConfigError as error:
            raise _Refused(str(error)) from None
        case_ref = own.case_ref
        if request.conversation_id is not None:
            joined = await self.receipts.conversation_case(request.conversation_id)
            # Sensitive mail never joins an open case: WebSak screens per case (R3).
            if joined is not None and (joined.screened or not request.sensitive):
                case_ref = joined.case_ref
        await tracked.save(case_ref=case_ref, template_ref=own.template_ref)

    async def _submission(self, request: ArchiveRequest) -> Submission:
        try:
            raw = await self.mime(request.mime_sha256)
        except (ObjectNotFoundError, NotFoundError):
            raise _Refused("the mail's MIME is not in the Object Store") from None
        except MailTooLarge as error:
            # Filed by hand from the Object Store: a partial .eml would not be the original.
            raise _Refused(str(error)) from None
        prepared = await self.workers.run(
            prepare_submission, raw, self.org, self.keys, request, self.options, self.marker_key
        )
        if isinstance(prepared, OverLimit):
            # A mail whose rendering would exhaust websak is filed by hand, from the Object Store.
            raise _Refused(
                f"rendering the mail stopped in its worker ({prepared.limit}: over its CPU-time "
                "or memory limit, or the worker died); file it by hand from the Object Store"
            )
        return prepared

    async def _file(self, tracked: _Tracked) -> None:
        receipt = tracked.receipt
        assert receipt.case_ref is not None  # placed before filing
        submission = await self._submission(receipt.request)
        try:
            if receipt.journalpost_id is None:
                journalpost = await ensure_journalpost(
                    self.archive, Placement(receipt.case_ref, receipt.template_ref), submission
                )
                await tracked.save(
                    stage=Stage.JOURNALPOST_CREATED, journalpost_id=journalpost.journalpost_id
                )
            else:
                journalpost = JournalpostRef(
                    receipt.journalpost_id, receipt.case_ref, submission.marked_title
                )
            await ensure_sender(self.archive, journalpost, submission)

            async def record_main(missing: tuple[Document, ...]) -> None:
                # A re-rendered PDF differs byte for byte: keep the SHA-256 of the one stored.
                for document in missing:
                    if document.role is DocumentRole.MAIN:
                        await tracked.save(main_sha256=document.sha256)

            await ensure_documents(self.archive, journalpost, submission, record_main)
            filed = await self.archive.finish(journalpost, submission.documents)
        except PermanentArchiveError as error:
            raise _Refused(str(error)) from error
        main_sha256 = tracked.receipt.main_sha256
        documents = tuple(
            ArchivedDocument(
                role=d.role,
                filename=d.filename,
                media_type=d.media_type,
                sha256=(main_sha256 or d.sha256) if d.role is DocumentRole.MAIN else d.sha256,
            )
            for d in filed.documents
        )
        await tracked.save(
            stage=Stage.DOCUMENTS_UPLOADED,
            archive_system=filed.archive_system,
            registry_number=filed.registry_number,
            archive_case_id=filed.case_ref,
            documents=documents,
            uploaded_at=self.clock(),
        )
        if receipt.request.conversation_id is not None:
            await self.receipts.remember_conversation(
                receipt.request.conversation_id,
                ConversationCase(
                    case_ref=filed.case_ref,
                    screened=receipt.request.sensitive,
                    first_case_id=receipt.request.case_id,
                ),
            )

    async def _alert_if_overdue(self, tracked: _Tracked, reason: str) -> None:
        receipt = tracked.receipt
        now = self.clock()
        waited = now - receipt.started_at
        if receipt.overdue_alerted or waited < self.alert_after:
            return
        await self.publish(overdue_alert(receipt, reason, waited, now))
        await tracked.save(overdue_alerted=True)
        log.warning(
            "archive_overdue", case_id=receipt.request.case_id, waited_s=waited.total_seconds()
        )

    async def _refuse(self, tracked: _Tracked, reason: str) -> None:
        receipt = tracked.receipt
        now = self.clock()
        refused = receipt.but(
            refusal=Refusal(reason=reason, at=now, routed_event_id=receipt.request.routed_event_id),
            refusals=receipt.refusals + 1,
        )
        await self.publish(refusal_alert(refused, reason, now))
        await tracked.save(refusal=refused.refusal, refusals=refused.refusals)
        log.error("archive_refused", case_id=receipt.request.case_id, reason=reason[:200])


def archived_event(receipt: Receipt) -> MailArchived:
    """The `archived` event of a receipt whose documents are uploaded (deterministic id)."""
    request = receipt.request
    journalpost_id, registry_number = receipt.journalpost_id, receipt.registry_number
    system, uploaded_at = receipt.archive_system, receipt.uploaded_at
    if journalpost_id is None or registry_number is None or system is None or uploaded_at is None:
        raise ValueError(f"case {request.case_id}: the receipt has no complete journalpost")
    return MailArchived(
        event_id=make_event_id("archived", request.case_id, journalpost_id),
        case_id=request.case_id,
        occurred_at=uploaded_at,
        department=request.department,
        archive_system=system,
        journalpost_id=journalpost_id,
        registry_number=registry_number,
        archive_case_id=receipt.archive_case_id,
        documents=list(receipt.documents),
    )
