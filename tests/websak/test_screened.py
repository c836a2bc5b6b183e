"""A screened journalpost leaks nothing outside its documents' content (issue #16, finding 6; R3):
the PDF's document info and XMP carry the neutral journal title and no mail data, and the
attachments are named by number."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pikepdf
import pytest

from services.websak.render import render_mail_pdf
from services.websak.submission import build_submission
from services.websak.titles import journalpost_title
from tests.websak.conftest import MARKER_KEY
from tests.websak.pdftext import extract_text

IDENTITY_NUMBER = "24128549753"  # a valid fødselsnummer, made up
NAME = "Ola Nordmann"
SUBJECT = f"Bekymringsmelding om {NAME} (fnr {IDENTITY_NUMBER}), barnevern"
# What must not leave the content: the name, the number and the sensitive words.
SECRETS = ("Ola", "Nordmann", IDENTITY_NUMBER, "Bekymringsmelding", "barnevern")


def _child_welfare_report() -> bytes:
    message = EmailMessage()
    message["From"] = "Helsesjukepleiar <helsesjukepleiar@example.no>"
    message["To"] = "postmottak@ha.kommune.no"
    message["Subject"] = SUBJECT
    message["Message-ID"] = "<bekymring-1@example.no>"
    message.set_content(f"Eg sender ei bekymringsmelding om {NAME}, fødd 24.12.1985.")
    message.add_alternative(
        f"<html><head><title>{SUBJECT}</title><meta name='author' content='{NAME}'>"
        f"<meta name='keywords' content='{NAME}, barnevern'></head><body><h1>{SUBJECT}</h1>"
        f"<p>Eg sender ei bekymringsmelding om {NAME}.</p></body></html>",
        subtype="html",
    )
    message.add_attachment(
        b"%PDF-1.4 report",
        maintype="application",
        subtype="pdf",
        filename=f"Bekymringsmelding {NAME} {IDENTITY_NUMBER}.pdf",
    )
    message.add_attachment(
        b"notes",
        maintype="application",
        subtype="octet-stream",
        filename=f"{NAME} notat.docx",
    )
    return message.as_bytes()


def _metadata(pdf_bytes: bytes) -> tuple[dict[str, str], str, str | None, str]:
    """The document info (with the outline's entries), the XMP packet, its dc:title, and the page
    text."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        info = {str(key): str(value) for key, value in pdf.docinfo.items()}
        with pdf.open_outline() as outline:
            info |= {f"outline {n}": str(item.title) for n, item in enumerate(outline.root)}
        xmp = bytes(pdf.Root.Metadata.read_bytes()).decode("utf-8")
        with pdf.open_metadata() as meta:
            title = meta.get("dc:title")
        return info, xmp, title, extract_text(pdf)


def test_a_screened_pdfs_metadata_is_the_neutral_title_and_nothing_else() -> None:  # #16 f6
    neutral = journalpost_title(SUBJECT, sensitive=True)
    info, xmp, title, text = _metadata(render_mail_pdf(_child_welfare_report(), sensitive=True))

    assert info["/Title"] == neutral
    assert title == neutral
    for secret in SECRETS:
        for key, value in info.items():
            assert secret.lower() not in value.lower(), key
        assert secret.lower() not in xmp.lower()
    # The content is the mail's, whole: what is screened is the document, not its text.
    assert NAME in text


def test_an_ordinary_pdfs_title_is_its_journal_title() -> None:  # R2
    raw = _child_welfare_report()
    info, _xmp, title, _text = _metadata(render_mail_pdf(raw, sensitive=False))
    assert info["/Title"] == title == journalpost_title(SUBJECT, sensitive=False)
    assert IDENTITY_NUMBER not in info["/Title"]  # masked, as in the journal
    assert "/Author" not in info and "/Keywords" not in info


@pytest.mark.parametrize("sensitive", [True, False], ids=["screened", "ordinary"])
def test_screened_attachments_are_named_by_number_with_their_extension(sensitive: bool) -> None:
    submission = build_submission(
        _child_welfare_report(),
        case_id="screenedcase1",
        sensitive=sensitive,
        marker_key=MARKER_KEY,
        pdf=b"%PDF",
    )
    names = [document.filename for document in submission.documents]
    if sensitive:
        assert names == ["E-post.pdf", "E-post (original).eml", "Vedlegg 1.pdf", "Vedlegg 2.docx"]
        assert not any(secret in name for name in names for secret in SECRETS)
    else:
        assert f"Bekymringsmelding {NAME} {IDENTITY_NUMBER}.pdf" in names
