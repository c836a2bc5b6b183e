"""The `Archive` port: what Sakspost needs from a records system to file one journalpost (R9a).

Every operation is one call to the archive, so that the service can record a receipt between any
two of them, and every write has a read that tells whether it already happened: a journalpost is
found again by the marker in its title, a contact by its reference, a document by its file name.
Filing can therefore be resumed after a crash at any point without making a second journalpost or
a second copy of a document (see `filing.py`).

Adapters: ACOS WebSak+ Integration API (`acos.py`); a Noark 5 tjenestegrensesnitt adapter fits the
same port (`template_ref` is then ignored, the marker goes into `eksternReferanse`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from schemas.vocab import DocumentRole
from services.websak.config import Placement


class ArchiveError(Exception):
    """The archive did not do what was asked. `retryable` tells the caller what to do next."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, operation: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.operation = operation


class TransientArchiveError(ArchiveError):
    """Down, slow, overloaded or a server error: try again later, with growing delay."""

    retryable = True


class PermanentArchiveError(ArchiveError):
    """The archive refused the request (4xx): retrying the same request will not help; alert."""


class IncompleteJournalpostError(TransientArchiveError):
    """A journalpost lacks documents that were uploaded: filing must be resumed, not restarted."""


@dataclass(frozen=True, slots=True)
class Document:
    """A file to be filed with a journalpost. File names are unique within one journalpost."""

    role: DocumentRole
    filename: str
    media_type: str
    content: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class Contact:
    """A correspondence party. `reference` carries the filing marker, to find it again."""

    name: str | None
    address: str | None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class JournalpostRef:
    journalpost_id: str
    case_ref: str
    title: str


@dataclass(frozen=True, slots=True)
class StoredDocument:
    document_id: str
    filename: str
    main: bool


@dataclass(frozen=True, slots=True)
class FiledJournalpost:
    """A complete journalpost: what the `archived` event reports."""

    archive_system: str
    journalpost_id: str
    registry_number: str
    case_ref: str
    documents: tuple[Document, ...]


class Archive(Protocol):
    """One records system. Errors are `TransientArchiveError` or `PermanentArchiveError`."""

    @property
    def system(self) -> str:
        """The `archive_system` value of the `archived` event."""
        ...

    async def find_journalpost(self, case_ref: str, marker: str) -> JournalpostRef | None:
        """The journalpost in the case whose title ends in the marker (exactly), if one exists."""
        ...

    async def create_journalpost(self, placement: Placement, title: str) -> JournalpostRef:
        """A new journalpost in the placement's case. Not idempotent: look it up first."""
        ...

    async def contacts(self, journalpost: JournalpostRef) -> list[Contact]:
        """The senders and recipients registered on a journalpost."""
        ...

    async def add_sender(self, journalpost: JournalpostRef, sender: Contact) -> None:
        """Register the sender (avsender) of an incoming journalpost."""
        ...

    async def documents(self, journalpost: JournalpostRef) -> list[StoredDocument]:
        """The documents stored on a journalpost."""
        ...

    async def upload(self, journalpost: JournalpostRef, document: Document) -> StoredDocument:
        """Store one document: `MAIN` as the main document, every other role as an attachment."""
        ...

    async def finish(
        self, journalpost: JournalpostRef, expected: tuple[Document, ...]
    ) -> FiledJournalpost:
        """Check that every expected document is stored and read the registry number."""
        ...
