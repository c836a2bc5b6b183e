"""A mail as PDF/A-2b, its archival format (R9a).

The page holds a header block (from, to, cc, date, subject, Message-ID), the body (sanitised HTML,
or the plain text when the mail has no HTML) and the list of attachments with their sizes and
SHA-256. The original `.eml` and the attachments are filed beside it, so nothing is lost in
conversion. Fonts are embedded (WeasyPrint embeds every font it uses); the PDF/A-2b variant adds the
XMP identification and an sRGB output intent. No remote or local resource is ever fetched: only
parts embedded in the mail (`cid:`) or in the page (`data:`) are read.
"""

from __future__ import annotations

import email
import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

from services.common.mail import Address, ParsedMail
from services.websak.sanitize import sanitize_html

PDF_VARIANT = "pdf/a-2b"
DEFAULT_TIMEZONE = "Europe/Oslo"

# WeasyPrint warns with the URL of every resource it was refused; a URL from a mail body may carry
# personal data, and refusing is the intended outcome, so only its errors are worth a log line.
logging.getLogger("weasyprint").setLevel(logging.ERROR)

_STYLE = """
@page { size: A4; margin: 18mm 16mm 18mm 16mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
html { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; color: #000; }
pre, code, .mono { font-family: "DejaVu Sans Mono", monospace; }
table.headers { border-collapse: collapse; width: 100%; margin-bottom: 6mm; }
table.headers th { text-align: left; vertical-align: top; width: 26mm; padding: 1mm 2mm 1mm 0; }
table.headers td { padding: 1mm 0; overflow-wrap: anywhere; }
table.headers { border-bottom: 0.6pt solid #000; }
.body { overflow-wrap: anywhere; }
.body img { max-width: 100%; }
pre.plain { white-space: pre-wrap; font-size: 9pt; }
h2.attachments { font-size: 11pt; margin-top: 8mm; border-top: 0.6pt solid #000; padding-top: 2mm; }
table.attachments { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
table.attachments th, table.attachments td { text-align: left; padding: 0.8mm 2mm 0.8mm 0;
        vertical-align: top; overflow-wrap: anywhere; }
"""


@dataclass(frozen=True, slots=True)
class EmbeddedPart:
    content_type: str
    content: bytes


class EmbeddedOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """Serves `cid:` parts of the mail and `data:` URLs; refuses everything else."""

    def __init__(self, parts: Mapping[str, EmbeddedPart]) -> None:
        super().__init__(allowed_protocols={"data", "cid"}, allow_redirects=False)
        self._parts = parts

    def fetch(self, url: str, headers: Any = None) -> Any:
        scheme, _, rest = url.partition(":")
        scheme = scheme.lower()
        if scheme == "cid":
            part = self._parts.get(_normalise_cid(rest))
            if part is None:
                raise ValueError("the mail holds no part with this Content-ID")
            return URLFetcherResponse(url, part.content, {"Content-Type": part.content_type})
        if scheme == "data":
            return super().fetch(url, headers)
        raise ValueError("resources outside the mail are never fetched")


def _normalise_cid(value: str) -> str:
    return unquote(value).strip().strip("<>").lower()


def embedded_parts(raw: bytes) -> dict[str, EmbeddedPart]:
    """Parts with a Content-ID, for `cid:` references in the HTML body."""
    parts: dict[str, EmbeddedPart] = {}
    message = email.message_from_bytes(raw, policy=policy.compat32)
    for part in message.walk():
        content_id = part.get("Content-ID")
        if content_id is None or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts[_normalise_cid(str(content_id))] = EmbeddedPart(part.get_content_type(), payload)
    return parts


def _address(address: Address) -> str:
    if address.name:
        return f"{address.name} <{address.address}>"
    return address.address


def _addresses(addresses: tuple[Address, ...]) -> str:
    return ", ".join(_address(a) for a in addresses)


def _date(value: datetime | None, timezone: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    return local.strftime("%d.%m.%Y %H:%M:%S (UTC%z)")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def mail_page(mail: ParsedMail, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The HTML page of a mail; every value from the mail is escaped or sanitised."""
    rows = [
        ("Frå", _address(mail.sender) if mail.sender else ""),
        ("Til", _addresses(mail.to)),
        ("Kopi", _addresses(mail.cc)),
        ("Dato", _date(mail.date, timezone)),
        ("Emne", mail.subject),
        ("Message-ID", f"<{mail.message_id}>" if mail.message_id else ""),
    ]
    header_rows = "".join(
        f"<tr><th>{label}</th><td>{html.escape(value)}</td></tr>" for label, value in rows
    )
    if mail.html is not None:
        body = f'<div class="body">{sanitize_html(mail.html)}</div>'
    else:
        body = f'<pre class="plain body">{html.escape(mail.text)}</pre>'
    attachments = ""
    if mail.attachments:
        items = "".join(
            "<tr>"
            f"<td>{html.escape(a.filename or '(utan namn)')}</td>"
            f"<td>{html.escape(a.content_type)}</td>"
            f"<td>{_size(a.size)}</td>"
            f'<td class="mono">{a.sha256}</td>'
            "</tr>"
            for a in mail.attachments
        )
        attachments = (
            f'<h2 class="attachments">Vedlegg ({len(mail.attachments)})</h2>'
            '<table class="attachments"><tr><th>Filnamn</th><th>Type</th><th>Storleik</th>'
            f"<th>SHA-256</th></tr>{items}</table>"
        )
    title = html.escape(mail.subject or "E-post")
    return (
        f'<!DOCTYPE html><html lang="nn"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f'<table class="headers">{header_rows}</table>{body}{attachments}</body></html>'
    )


def render_mail_pdf(mail: ParsedMail, raw: bytes, timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """The mail as PDF/A-2b bytes. CPU-bound: call it from a worker thread in async code."""
    document = HTML(
        string=mail_page(mail, timezone), url_fetcher=EmbeddedOnlyFetcher(embedded_parts(raw))
    )
    pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT, presentational_hints=True)
    return pdf
