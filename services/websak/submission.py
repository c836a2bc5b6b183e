"""What one mail becomes in the archive: title, sender and documents (R9a).

The main document is the PDF/A rendering; the original `.eml` goes beside it byte for byte (its
SHA-256 is the `received.mime_sha256`), and so does every attachment, inline ones included, so
that nothing is lost in conversion. File names are unique within the journalpost, because the
archive finds an uploaded document again by its name.

A mail a colleague moved from a personal mailbox (R9c) is filed as its attached original: the PDF,
the sender, the title and the attachments are the citizen's mail, and `E-post (original).eml` is
the original's bytes (its SHA-256 is the original's). The wrapper as Graph delivered it (whose
SHA-256 is `received.mime_sha256`) goes beside it as `E-post (vidaresending).eml`, so the way the
mail came in stays on record.

An outgoing journalpost (a reply sent from Sakspost, R14) names its first recipient as contact.

A screened journalpost (sensitive mail, R3) says nothing of the mail outside its documents' content:
its title is neutral, so is its PDF's metadata (`render.py`), and its attachments are named
"Vedlegg 1.pdf", "Vedlegg 2.docx"… (the extension kept, so they open), because a file name such as
"Bekymringsmelding Ola Nordmann 010170.pdf" is read wherever the document list is.

The PDF is rendered by the caller (`render.render_mail_pdf`, a function of plain values that may
run in another process) and handed in.
"""

from __future__ import annotations

import mimetypes
import re

from schemas.vocab import DocumentRole
from services.common.mail import parse_mail
from services.websak.archive import Contact, Document
from services.websak.filing import Submission
from services.websak.markers import filing_marker
from services.websak.titles import journalpost_title

MAIN_FILENAME = "E-post.pdf"
ORIGINAL_FILENAME = "E-post (original).eml"
WRAPPER_FILENAME = "E-post (vidaresending).eml"
MAX_FILENAME_LENGTH = 120

_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
# An extension worth keeping on a neutral name: a few letters or digits, at least one a letter.
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})\s*$")


def _safe_filename(name: str | None, content_type: str, number: int) -> str:
    cleaned = _UNSAFE_FILENAME.sub("_", name or "").strip(" .")
    if not cleaned:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        cleaned = f"Vedlegg {number}{extension}"
    if len(cleaned) > MAX_FILENAME_LENGTH:
        stem, dot, extension = cleaned.rpartition(".")
        keep = MAX_FILENAME_LENGTH - len(extension) - 1
        cleaned = (
            f"{stem[:keep]}.{extension}"
            if dot and 0 < len(extension) < 10
            else cleaned[:MAX_FILENAME_LENGTH]
        )
    return cleaned


def _extension(name: str | None, content_type: str) -> str:
    found = _EXTENSION.search(name or "")
    if found is not None and not found.group(1).isdigit():
        return found.group(1).lower()
    return (mimetypes.guess_extension(content_type) or ".bin").removeprefix(".")


def _neutral_filename(name: str | None, content_type: str, number: int) -> str:
    """A screened attachment's name: its number and its extension only."""
    return f"Vedlegg {number}.{_extension(name, content_type)}"


def _unique(name: str, taken: set[str]) -> str:
    candidate, counter = name, 2
    stem, dot, extension = name.rpartition(".")
    while candidate.lower() in taken:
        candidate = f"{stem} ({counter}).{extension}" if dot else f"{name} ({counter})"
        counter += 1
    taken.add(candidate.lower())
    return candidate


def build_submission(
    raw: bytes,
    *,
    case_id: str,
    sensitive: bool,
    marker_key: bytes,
    pdf: bytes,
    wrapper: bytes | None = None,
    outgoing: bool = False,
) -> Submission:
    """The submission of one mail (`raw`: the mail itself, `pdf`: its rendering, `wrapper`: the
    forward that carried it, if any), marked with the case's filing marker under `marker_key`.
    Parsing is CPU-bound: websak runs it in its worker pool (`archiving.prepare_submission`)."""
    mail = parse_mail(raw)
    marker = filing_marker(case_id, marker_key)
    name_of = _neutral_filename if sensitive else _safe_filename
    taken = {MAIN_FILENAME.lower(), ORIGINAL_FILENAME.lower(), WRAPPER_FILENAME.lower()}
    documents = [
        Document(DocumentRole.MAIN, MAIN_FILENAME, "application/pdf", pdf),
        Document(DocumentRole.ORIGINAL, ORIGINAL_FILENAME, "message/rfc822", raw),
    ]
    if wrapper is not None:
        documents.append(
            Document(DocumentRole.ATTACHMENT, WRAPPER_FILENAME, "message/rfc822", wrapper)
        )
    for number, attachment in enumerate(mail.attachments, start=1):
        filename = _unique(name_of(attachment.filename, attachment.content_type, number), taken)
        documents.append(
            Document(DocumentRole.ATTACHMENT, filename, attachment.content_type, attachment.content)
        )
    party = (mail.to[0] if mail.to else None) if outgoing else mail.sender
    sender = (
        Contact(name=party.name, address=party.address, reference=marker)
        if party is not None
        else None
    )
    return Submission(
        marker=marker,
        title=journalpost_title(mail.subject, sensitive=sensitive),
        sender=sender,
        documents=tuple(documents),
    )
