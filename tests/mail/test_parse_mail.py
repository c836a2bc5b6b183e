"""The MIME parser every service uses: never raises, reports what is broken (R13: every mail
becomes a case a human can read)."""

from __future__ import annotations

import hashlib
from datetime import UTC
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.htmltext import html_to_text
from services.common.mail import ParsedMail, parse_mail
from tests.conftest import SAMPLES

SAMPLE_FILES = sorted(SAMPLES.glob("*.eml"))


def _sample_bytes() -> list[bytes]:
    return [path.read_bytes() for path in SAMPLE_FILES[:12]]


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_sample_parses_cleanly(path: Path) -> None:
    mail = parse_mail(path.read_bytes())
    assert mail.defects == ()
    assert mail.sender is not None and "@" in mail.sender.address
    assert mail.sender.address == mail.sender.address.lower()
    assert mail.subject and mail.text.strip()
    assert mail.message_id and not mail.message_id.startswith("<")
    assert mail.date is not None and mail.date.tzinfo is UTC
    assert mail.to or mail.cc


def test_mime_edge_files_parse_without_exception(mime_edge: Path) -> None:
    files = sorted(mime_edge.glob("*.eml"))
    assert len(files) >= 100
    parsed = {path.name: parse_mail(path.read_bytes()) for path in files}
    assert all(isinstance(mail, ParsedMail) for mail in parsed.values())
    # Known breakage is reported as stable defect codes, not exceptions.
    assert "no-body" in parsed["error_emails__missing_body.eml"].defects
    assert "header-unparseable:date" in parsed["error_emails__bad_date_header.eml"].defects
    assert "charset-unknown:x-unknown" in parsed["plain_emails__raw_email10.eml"].defects
    # LF-only files are ordinary mail.
    lf = parsed["plain_emails__basic_email_lf.eml"]
    assert lf.sender is not None and lf.subject == "Testing 123" and lf.defects == ()
    # An empty group names nobody; it is not a defect.
    assert parsed["rfc2822__example04.eml"].defects == ()
    # RFC 6532: UTF-8 in headers.
    assert parsed["rfc6532__utf8_headers.eml"].subject == "Säying Hello"
    # Non-ASCII 8-bit filename survives.
    names = [
        a.filename
        for a in parsed["attachment_emails__attachment_nonascii_filename.eml"].attachments
    ]
    assert "ciële.txt" in names


def test_lf_and_crlf_give_the_same_mail() -> None:
    raw = SAMPLE_FILES[0].read_bytes()
    crlf = parse_mail(raw)
    lf = parse_mail(raw.replace(b"\r\n", b"\n"))
    assert (lf.subject, lf.sender, lf.text.replace("\r", "")) == (
        crlf.subject,
        crlf.sender,
        crlf.text.replace("\r", ""),
    )


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "=?utf-8?q?Kj=C3=A6re_Nabo?= <Nabo@Example.Org>"
    message["To"] = "Post <post@ha.kommune.no>, bygg@ha.kommune.no"
    message["Cc"] = "kopi@example.org"
    message["Reply-To"] = "svar@example.org"
    message["Subject"] = "Søknad om løyve – gnr. 1"
    message["Message-ID"] = "<abc.123@example.org>"
    message["In-Reply-To"] = "<first@example.org>"
    message["References"] = "<zero@example.org> <first@example.org>"
    message["Date"] = "Tue, 07 Apr 2026 09:14:00 +0200"
    return message


def test_addresses_ids_and_date() -> None:
    message = _message()
    message.set_content("Hei\nEg søkjer om løyve.\n")
    mail = parse_mail(message.as_bytes())
    assert mail.sender is not None
    assert (mail.sender.name, mail.sender.address) == ("Kjære Nabo", "nabo@example.org")
    assert [a.address for a in mail.to] == ["post@ha.kommune.no", "bygg@ha.kommune.no"]
    assert [a.address for a in mail.cc] == ["kopi@example.org"]
    assert [a.address for a in mail.reply_to] == ["svar@example.org"]
    assert mail.message_id == "abc.123@example.org"
    assert mail.in_reply_to == "first@example.org"
    assert mail.references == ("zero@example.org", "first@example.org")
    assert mail.date is not None and mail.date.isoformat() == "2026-04-07T07:14:00+00:00"
    assert mail.subject == "Søknad om løyve – gnr. 1"
    assert mail.header("subject") == mail.subject
    assert "Eg søkjer om løyve." in mail.text


def test_attachments_and_embedded_message() -> None:
    message = _message()
    message.set_content("Sjå vedlegg.")
    content = b"%PDF-1.4 placeholder"
    message.add_attachment(
        content, maintype="application", subtype="pdf", filename="Teikning øst.pdf"
    )
    inner = EmailMessage()
    inner["Subject"] = "Nabovarsel"
    inner.set_content("Opphavleg nabovarsel.")
    message.add_attachment(inner)
    mail = parse_mail(message.as_bytes())
    pdf, embedded = mail.attachments
    assert (pdf.filename, pdf.content_type, pdf.size) == (
        "Teikning øst.pdf",
        "application/pdf",
        len(content),
    )
    assert pdf.sha256 == hashlib.sha256(content).hexdigest() and pdf.content == content
    assert not pdf.inline
    assert embedded.content_type == "message/rfc822" and b"Nabovarsel" in embedded.content
    assert mail.text.strip() == "Sjå vedlegg."


def test_html_only_mail_gets_text_from_html() -> None:
    message = _message()
    message.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Hei&nbsp;der</p>"
        "<p>Linje&nbsp;to &amp; tre</p></body></html>",
        subtype="html",
    )
    mail = parse_mail(message.as_bytes())
    assert mail.html is not None and "<p>" in mail.html
    assert mail.text == "Hei der\n\nLinje to & tre"


def test_unknown_and_wrong_charsets_fall_back_with_defects() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: =?x-foo?q?hei?=\r\n"
        b"Content-Type: text/plain; charset=x-foo\r\n\r\nbl\xc3\xa5b\xc3\xa6r\r\n"
    )
    mail = parse_mail(raw)
    assert "charset-unknown:x-foo" in mail.defects
    assert mail.text.strip() == "blåbær"
    wrong = parse_mail(raw.replace(b"x-foo", b"utf-8").replace(b"\xc3\xa5", b"\xe5"))
    assert "charset-mismatch:utf-8" in wrong.defects
    assert "bl" in wrong.text


@pytest.mark.parametrize(
    ("raw", "defect"),
    [
        (b"", "no-body"),
        (b"From: a@example.org\r\nSubject: tom\r\n\r\n", "no-body"),
        (
            b"From: a@example.org\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here\r\n",
            "missing-boundary",
        ),
        (b"From: <<<>>>\r\nSubject: x\r\n\r\nbody\r\n", "header-unparseable:from"),
        (b"From: a@example.org\r\nDate: not a date\r\n\r\nbody\r\n", "header-unparseable:date"),
    ],
)
def test_broken_input_is_reported(raw: bytes, defect: str) -> None:
    assert defect in parse_mail(raw).defects


def test_html_to_text_tolerates_broken_markup() -> None:
    assert html_to_text("<p>Hei<br>der<p><b>open") == "Hei\nder\nopen"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_any_bytes_parse_without_exception(raw: bytes) -> None:
    mail = parse_mail(raw)
    assert isinstance(mail, ParsedMail)
    assert all(isinstance(code, str) and code for code in mail.defects)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(_sample_bytes()),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=5000), st.binary(max_size=8)), max_size=8
    ),
)
def test_mangled_real_mail_parses_without_exception(
    raw: bytes, edits: list[tuple[int, bytes]]
) -> None:
    data = bytearray(raw)
    for position, chunk in edits:
        at = position % (len(data) + 1)
        data[at : at + len(chunk)] = chunk
    assert isinstance(parse_mail(bytes(data)), ParsedMail)


def test_deeply_nested_multipart_is_cut_off() -> None:
    depth = 60
    opening = b"".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n".encode()
        for i in range(depth)
    )
    raw = b"From: a@example.org\r\n" + opening + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    mail = parse_mail(raw)
    assert isinstance(mail, ParsedMail)
    assert "nesting-too-deep" in mail.defects


def test_raw_8bit_headers_are_restored() -> None:
    raw = (
        b"From: J\xc3\xb8rn <jorn@example.org>\r\nSubject: bl\xc3\xa5b\xc3\xa6r\r\n"
        b"X-Legacy: bl\xe5\r\nX-Encoded: =?utf-8?q?bl=C3=A5?=\r\nX-Plain: ascii\r\n\r\nhei\r\n"
    )
    mail = parse_mail(raw)
    assert mail.subject == "blåbær"
    assert mail.sender is not None and mail.sender.name == "Jørn"
    # Not UTF-8: read as the Windows code page mail clients of that age wrote.
    assert mail.header("x-legacy") == "blå"
    assert mail.header("x-encoded") == "blå"
    assert mail.header("x-plain") == "ascii"


def test_message_ids_of_raw_8bit_octets_are_readable_text() -> None:
    # A sender's raw 8-bit Message-ID must still make a case id and an event that serialises
    # (lone surrogates do neither).
    raw = (
        b"From: a@example.org\r\nTo: post@ha.kommune.no\r\nSubject: x\r\n"
        b"Message-ID: <\xe6\xf8\xe5@example.org>\r\nIn-Reply-To: <\xc3\xa6@example.org>\r\n"
        b"References: <r\xff@example.org>\r\n\r\nhei\r\n"
    )
    mail = parse_mail(raw)
    assert mail.message_id == "\u00e6\u00f8\u00e5@example.org"  # not UTF-8: read as cp1252
    assert mail.in_reply_to == "\u00e6@example.org"
    for text in (mail.message_id, mail.in_reply_to, *mail.references):
        text.encode("utf-8")
