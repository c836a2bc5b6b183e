"""File one mail as one journalpost, resumably (R9a).

Each step first reads what the archive already has, so running `file_journalpost` again after a
crash between any two calls finishes the same journalpost instead of making a second one. The steps
are also exposed one by one, so the service can keep a receipt between them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from services.websak.archive import (
    Archive,
    Contact,
    Document,
    FiledJournalpost,
    JournalpostRef,
)
from services.websak.config import Placement

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Submission:
    """Everything one journalpost is made of. `marker` identifies the mail in the archive."""

    marker: str
    title: str
    sender: Contact | None  # the correspondent: the sender of incoming, the recipient of outgoing
    documents: tuple[Document, ...]

    @property
    def marked_title(self) -> str:
        return f"{self.title} {self.marker}"


async def ensure_journalpost(
    archive: Archive, placement: Placement, submission: Submission
) -> JournalpostRef:
    existing = await archive.find_journalpost(placement.case_ref, submission.marker)
    if existing is not None:
        return existing
    return await archive.create_journalpost(placement, submission.marked_title)


async def ensure_sender(
    archive: Archive, journalpost: JournalpostRef, submission: Submission
) -> None:
    if submission.sender is None:
        return
    known = await archive.contacts(journalpost)
    if any(contact.reference == submission.marker for contact in known):
        return
    await archive.add_sender(journalpost, submission.sender)


BeforeUpload = Callable[[tuple[Document, ...]], Awaitable[None]]


async def ensure_documents(
    archive: Archive,
    journalpost: JournalpostRef,
    submission: Submission,
    before_upload: BeforeUpload | None = None,
) -> None:
    """Upload the documents the journalpost lacks. `before_upload` sees them first, so that a
    caller can record what it is about to store (a re-rendered PDF differs byte for byte)."""
    stored = {document.filename for document in await archive.documents(journalpost)}
    missing = tuple(d for d in submission.documents if d.filename not in stored)
    if missing and before_upload is not None:
        await before_upload(missing)
    for document in missing:
        await archive.upload(journalpost, document)


async def file_journalpost(
    archive: Archive, placement: Placement, submission: Submission
) -> FiledJournalpost:
    journalpost = await ensure_journalpost(archive, placement, submission)
    await ensure_sender(archive, journalpost, submission)
    await ensure_documents(archive, journalpost, submission)
    filed = await archive.finish(journalpost, submission.documents)
    log.info(
        "journalpost_filed",
        journalpost_id=filed.journalpost_id,
        case_ref=filed.case_ref,
        documents=len(filed.documents),
    )
    return filed
