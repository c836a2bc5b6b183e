"""A mail as PDF/A-2b, its archival format (R9a).

The page holds a header block (from, to, cc, date, subject, Message-ID), the body (sanitised HTML,
or the plain text when the mail has no HTML) and the list of attachments with their sizes and
SHA-256. The original `.eml` and the attachments are filed beside it, so nothing is lost in
conversion. Fonts are embedded (WeasyPrint embeds every font it uses); the PDF/A-2b variant adds the
XMP identification and an sRGB output intent.

Bounded work (issue #16, finding 2): the body's images are sized from their headers and admitted
by the image plan (`images.py`) before anything is decoded; one left out is a line on the page.
No remote or local resource is ever fetched: the renderer is served only the images the plan
admitted.

Metadata (document info and XMP) holds nothing of the mail: the title is the journalpost's (for a
screened mail the neutral one, R3), and there is no author, subject or keyword, so a screened
journalpost's PDF says no more in its properties than the public journal does.

`render_mail_pdf` takes and returns plain values only, so that it can run in another process.
"""

from __future__ import annotations

import base64
import binascii
import email
import html
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from functools import cache
from typing import Any
from urllib.parse import unquote, unquote_to_bytes
from zoneinfo import ZoneInfo

from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

from services.common.language import DEFAULT_LANGUAGE, Language, language_named
from services.common.mail import Address, ParsedMail, parse_mail
from services.websak.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MAX_IMAGES,
    DEFAULT_MAX_MAIL_IMAGE_PIXELS,
    ImageLimits,
    ImagePlan,
    ShownImage,
)
from services.websak.sanitize import sanitize_html
from services.websak.texts import image_left_out, phrase
from services.websak.titles import journalpost_title

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
/* Both tables are laid out from their declared widths (`table-layout: fixed`), never from their
   content: with `overflow-wrap: anywhere`, an automatic layout measures a cell's narrowest width by
   breaking its text after every character, which cost half of a mail's rendering. */
table.headers { border-collapse: collapse; width: 100%; margin-bottom: 6mm; table-layout: fixed; }
table.headers th { text-align: left; vertical-align: top; width: 26mm; padding: 1mm 2mm 1mm 0; }
table.headers td { padding: 1mm 0; overflow-wrap: anywhere; }
table.headers { border-bottom: 0.6pt solid #000; }
.body { overflow-wrap: anywhere; }
.body img { max-width: 100%; }
/* The body's headings are the mail's text, not the document's outline. */
.body h1, .body h2, .body h3, .body h4, .body h5, .body h6 { bookmark-level: none; }
.left-out { border: 0.6pt solid #000; padding: 1mm 2mm; margin-bottom: 4mm; font-size: 9pt; }
pre.plain { white-space: pre-wrap; font-size: 9pt; }
h2.attachments { font-size: 11pt; margin-top: 8mm; border-top: 0.6pt solid #000; padding-top: 2mm; }
table.attachments { border-collapse: collapse; width: 100%; font-size: 8.5pt; table-layout: fixed; }
table.attachments th, table.attachments td { text-align: left; padding: 0.8mm 2mm 0.8mm 0;
        vertical-align: top; overflow-wrap: anywhere; }
/* File name, type, size, SHA-256 (two lines of the monospaced hash). */
table.attachments th:nth-child(1) { width: 29%; }
table.attachments th:nth-child(2) { width: 15%; }
table.attachments th:nth-child(3) { width: 11%; }
"""


@dataclass(frozen=True, slots=True)
class _Typesetter:
    """What every rendering in a process shares: the font configuration (fontconfig's fonts and
    Pango's font map, with the fonts it has loaded) and the parsed page style. Neither depends on
    the mail, and building them cost a tenth of each rendering."""

    fonts: Any
    style: Any


@cache
def _typesetter() -> _Typesetter:
    fonts = FontConfiguration()
    return _Typesetter(fonts, CSS(string=_STYLE, font_config=fonts))


# The shared font configuration is not safe to use from two threads at once; a worker renders one
# mail at a time, but a caller in threads (a test, the bench) must not race it either.
_typesetting = threading.Lock()


class ShownImagesFetcher(URLFetcher):  # type: ignore[misc]
    """Serves the images the plan admitted, under the plan's names; refuses everything else."""

    def __init__(self, shown: Mapping[str, ShownImage]) -> None:
        super().__init__(allowed_protocols={"cid"}, allow_redirects=False)
        self._shown = shown

    def fetch(self, url: str, headers: Any = None) -> Any:
        scheme, _, name = url.partition(":")
        image = self._shown.get(_normalise_cid(name)) if scheme.lower() == "cid" else None
        if image is None:
            raise ValueError("only the images the plan admitted are served")
        return URLFetcherResponse(url, image.content, {"Content-Type": image.media_type})


def _normalise_cid(value: str) -> str:
    return unquote(value).strip().strip("<>").lower()


def embedded_parts(raw: bytes) -> dict[str, bytes]:
    """The content of each part with a Content-ID, for `cid:` references in the HTML body."""
    parts: dict[str, bytes] = {}
    message = email.message_from_bytes(raw, policy=policy.compat32)
    for part in message.walk():
        content_id = part.get("Content-ID")
        if content_id is None or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts[_normalise_cid(str(content_id))] = payload
    return parts


def _data_url_content(rest: str) -> bytes | None:
    """The bytes of a `data:` URL (without its scheme), None when it is malformed."""
    header, comma, data = rest.partition(",")
    if not comma:
        return None
    content = unquote_to_bytes(data)
    if not header.lower().endswith(";base64"):
        return content
    try:
        return base64.b64decode(content)
    except (binascii.Error, ValueError):
        return None


@dataclass
class _PageImages:
    """Resolves each embedded image source of the body and lets the plan admit it."""

    parts: Mapping[str, bytes]
    plan: ImagePlan

    def __call__(self, source: str) -> str | None:
        scheme, _, rest = source.partition(":")
        if scheme.lower() == "cid":
            key = _normalise_cid(rest)
            return self.plan.admit(f"cid:{key}", self.parts.get(key))
        return self.plan.admit(source, _data_url_content(rest))


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


def _left_out(plan: ImagePlan, language: Language) -> str:
    """The lines that stand for the images the plan left out (empty when none was)."""
    lines = [image_left_out(language, image, plan.limits) for image in plan.skipped]
    if plan.beyond_count:
        lines.append(
            phrase(language, "images_beyond", count=plan.beyond_count, limit=plan.limits.max_images)
        )
    if not lines:
        return ""
    lines.append(phrase(language, "images_in_original"))
    return (
        '<div class="left-out">'
        + "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        + "</div>"
    )


def _mail_page(
    mail: ParsedMail,
    *,
    title: str,
    images: _PageImages,
    language: Language = DEFAULT_LANGUAGE,
    timezone: str = DEFAULT_TIMEZONE,
) -> str:
    """The HTML page of a mail; every value from the mail is escaped or sanitised. `title` is the
    document's title (its metadata): the journalpost's."""
    rows = [
        (phrase(language, "from"), _address(mail.sender) if mail.sender else ""),
        (phrase(language, "to"), _addresses(mail.to)),
        (phrase(language, "cc"), _addresses(mail.cc)),
        (phrase(language, "date"), _date(mail.date, timezone)),
        (phrase(language, "subject"), mail.subject),
        ("Message-ID", f"<{mail.message_id}>" if mail.message_id else ""),
    ]
    header_rows = "".join(
        f"<tr><th>{label}</th><td>{html.escape(value)}</td></tr>" for label, value in rows
    )
    if mail.html is not None:
        body = f'<div class="body">{sanitize_html(mail.html, images)}</div>'
    else:
        body = f'<pre class="plain body">{html.escape(mail.text)}</pre>'
    attachments = ""
    if mail.attachments:
        unnamed = phrase(language, "unnamed")
        items = "".join(
            "<tr>"
            f"<td>{html.escape(a.filename or unnamed)}</td>"
            f"<td>{html.escape(a.content_type)}</td>"
            f"<td>{_size(a.size)}</td>"
            f'<td class="mono">{a.sha256}</td>'
            "</tr>"
            for a in mail.attachments
        )
        heading = phrase(language, "attachments", count=len(mail.attachments))
        columns = "".join(
            f"<th>{phrase(language, key)}</th>" for key in ("filename", "type", "size")
        )
        attachments = (
            f'<h2 class="attachments">{heading}</h2>'
            f'<table class="attachments"><tr>{columns}<th>SHA-256</th></tr>{items}</table>'
        )
    return (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>"
        f'<table class="headers">{header_rows}</table>{_left_out(images.plan, language)}'
        f"{body}{attachments}</body></html>"
    )


def render_mail_pdf(
    raw: bytes,
    *,
    sensitive: bool,
    language: str = DEFAULT_LANGUAGE,
    timezone: str = DEFAULT_TIMEZONE,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_mail_image_pixels: int = DEFAULT_MAX_MAIL_IMAGE_PIXELS,
    max_images: int = DEFAULT_MAX_IMAGES,
) -> bytes:
    """The mail `raw` as PDF/A-2b bytes, titled as its journalpost (neutral when `sensitive`).

    CPU-bound, and as costly as the sender makes it: websak runs it in its worker pool
    (`archiving.prepare_submission`), a top-level function of plain values.
    """
    mail = parse_mail(raw)
    plan = ImagePlan(ImageLimits(max_image_pixels, max_mail_image_pixels, max_images))
    page = _mail_page(
        mail,
        title=journalpost_title(mail.subject, sensitive=sensitive),
        images=_PageImages(embedded_parts(raw), plan),
        language=language_named(language),
        timezone=timezone,
    )
    document = HTML(string=page, url_fetcher=ShownImagesFetcher(plan.shown))
    with _typesetting:
        typesetter = _typesetter()
        pdf: bytes = document.write_pdf(
            stylesheets=[typesetter.style],
            font_config=typesetter.fonts,
            pdf_variant=PDF_VARIANT,
            presentational_hints=True,
        )
    return pdf
