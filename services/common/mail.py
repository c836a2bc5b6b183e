"""The one robust MIME parser every service uses.

`parse_mail` never raises, for any bytes: real mail is often malformed (broken headers, unknown
charsets, missing boundaries, LF-only files, no body at all), and a mail that cannot be read must
still become a case a human can look at (R13). What could not be read is reported as stable short
defect codes instead of exceptions.

The message is parsed with the `compat32` policy because it never raises on access; headers are
decoded here, piece by piece, so that one bad header spoils only itself: it fails closed, to a
defect, while the body and the other headers are still read.

Hostile mail must not cost more than its size (issue #16): every step is linear in its input, and
`MailLimits` caps what one mail may hold. What is over a cap is left out and named by a
`limit-exceeded:*` defect, and `quarantine_reason` turns those defects into the reason the mail is
a quarantined case (`too_large`, `too_complex`, `unparseable`): kept, routed to a person, treated
as possibly sensitive. The parse itself runs in a worker process (`workers.py`) under a CPU-time
and memory limit, the last resort for whatever a cap here does not foresee.
"""

from __future__ import annotations

import codecs
import email.errors
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from schemas.vocab import QuarantineReason
from services.common.encodedwords import decode_words
from services.common.htmltext import html_to_text

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class MailLimits:
    """What one mail may hold before the rest is left out and the mail is quarantined.

    The defaults admit anything Exchange Online delivers (messages up to 150 MB, 250 attachments,
    256 KB of headers), except that a mail over the parse cap (`SAKSPOST_MIME_PARSE_CAP_BYTES`,
    `mimelimits.py`) has only its header block read; `SAKSPOST_MAIL_*` settings change the others
    (`settings.mail_limits`).
    """

    # The parse cap's default: over it, the mail is `too_large` and its headers alone are read.
    max_bytes: int = 25 * MiB
    max_headers: int = 1000
    max_header_chars: int = 256 * 1024
    max_parts: int = 1000
    # The standard parser checks every line against every open boundary, and recurses once per
    # nested multipart: its work grows with the square of their number.
    max_multiparts: int = 100
    # Deeper nesting than this is not mail but an attack on the parser.
    max_depth: int = 30
    max_text_chars: int = 4_000_000
    max_attachment_bytes: int = 150 * MiB


DEFAULT_LIMITS = MailLimits()
LIMIT_DEFECT = "limit-exceeded"
# What a mail over `max_bytes` is read from: its header block, at most this much.
HEAD_BYTES = 256 * 1024
_HEADER_ENDS = (b"\r\n\r\n", b"\n\n")

_ADDRESS_HEADERS = ("from", "reply-to", "to", "cc")
_PARAM_HEADERS = ("content-type", "content-disposition")
# An address, found without parsing the header around it: each match starts at most 64
# characters before its `@`, so the search stays linear on any text.
_BARE_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"@]{1,64}@[^\s<>()\[\],;:\"@]{1,255}")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_FOLDING = re.compile(r"\r?\n[ \t]*")
_BOUNDARY_PARAMETER = re.compile(rb"boundary\s*=", re.IGNORECASE)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
# An 8-bit octet that the parser could not decode, kept as a lone surrogate (surrogateescape).
_ESCAPED_OCTET = re.compile("[\udc80-\udcff]")
_FALLBACK_CHARSETS = ("utf-8", "cp1252")


@dataclass(frozen=True, slots=True)
class Address:
    name: str | None
    address: str  # lower-cased


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int
    sha256: str
    content: bytes
    inline: bool


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str | None  # without <>, stripped
    subject: str
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None  # timezone-aware UTC
    in_reply_to: str | None
    references: tuple[str, ...]
    # Lower-case names -> decoded values; a plain dict (read-only by its type) so that a parsed
    # mail can cross from a worker process (`workers.py`).
    headers: Mapping[str, tuple[str, ...]]
    text: str  # the plain-text body (from HTML when only HTML exists)
    html: str | None
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]

    def header(self, name: str) -> str | None:
        """The first decoded value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


# --- decoding helpers -------------------------------------------------------------------------


def _charset_known(charset: str) -> bool:
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        return False
    return True


def decode_bytes(data: bytes, charset: str | None, defects: list[str]) -> str:
    """Text from bytes in a declared charset, falling back (with a defect) where it is wrong."""
    if charset:
        label = charset.strip().strip('"').lower()
        if _charset_known(label):
            try:
                return data.decode(label)
            except (UnicodeDecodeError, ValueError):
                _add(defects, f"charset-mismatch:{label}")
        else:
            _add(defects, f"charset-unknown:{label[:40]}")
    for fallback in _FALLBACK_CHARSETS:
        try:
            return data.decode(fallback)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _unescape_raw(value: str) -> str:
    """Header text as parsed from bytes carries 8-bit octets as surrogates (RFC 6532): restore."""
    # Called for every header value: ASCII (the common case) cannot hold a surrogate.
    if value.isascii() or not _ESCAPED_OCTET.search(value):
        return value
    raw = value.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def decode_header_value(value: object, name: str, defects: list[str]) -> str:
    """A header's display text: unfolded, encoded words decoded, bad charsets tolerated."""
    if isinstance(value, email.header.Header):
        value = str(value)
    text = _unescape_raw(_FOLDING.sub(" ", str(value)))
    if "=?" not in text:
        return text.strip()
    try:
        chunks = decode_words(text)
    except (email.errors.HeaderParseError, ValueError, LookupError, AssertionError):
        _add(defects, f"header-undecodable:{name}")
        return text.strip()
    pieces: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            pieces.append(chunk)
        else:
            pieces.append(decode_bytes(chunk, charset, defects))
    return "".join(pieces).strip()


def _add(defects: list[str], code: str) -> None:
    if code not in defects:
        defects.append(code)


def _defect_code(defect: object) -> str:
    """`MissingHeaderBodySeparatorDefect` -> `missing-header-body-separator`."""
    name = type(defect).__name__.removesuffix("Defect")
    if name in ("NoBoundaryInMultipart", "StartBoundaryNotFound", "MultipartInvariantViolation"):
        return "missing-boundary"
    return _CAMEL.sub("-", name).lower() or "defect"


# --- headers ----------------------------------------------------------------------------------


def _names_nobody(value: str) -> bool:
    """Blank, or only empty groups ("undisclosed-recipients:;"): a valid way to name nobody."""
    *groups, rest = value.split(";")
    return all(":" in group for group in groups) and not rest.strip(" ,")


def _bare_addresses(values: list[str]) -> tuple[Address, ...]:
    """The addresses in a header the address parser could not read, without their names."""
    found = (
        match.group().strip(".").lower() for v in values for match in _BARE_ADDRESS.finditer(v)
    )
    return tuple(Address(name=None, address=address) for address in dict.fromkeys(found))


def _parse_addresses(raw_values: list[str], name: str, defects: list[str]) -> tuple[Address, ...]:
    found: list[Address] = []
    unfolded = [_unescape_raw(_FOLDING.sub(" ", value)) for value in raw_values]
    try:
        pairs = getaddresses(unfolded)
    except (ValueError, IndexError, TypeError, RecursionError):
        # Nested comments recurse once per "(": this header alone fails, closed (finding 8).
        _add(defects, f"header-unparseable:{name}")
        return _bare_addresses(unfolded)
    for display, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if "@" not in addr:
            continue
        label = decode_header_value(display, name, defects) if display else ""
        found.append(Address(name=label or None, address=addr))
    if not found and not all(_names_nobody(value) for value in unfolded):
        _add(defects, f"header-unparseable:{name}")
    return tuple(found)


def _parse_date(raw: str | None, defects: list[str]) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        parsed = parsedate_to_datetime(_FOLDING.sub(" ", raw).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        _add(defects, "header-unparseable:date")
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        _add(defects, "header-unparseable:date")
        return None


def _message_ids(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    raw = _unescape_raw(raw)  # raw 8-bit octets would make the id unfit for JSON and hashing
    ids = _MESSAGE_ID.findall(raw)
    if ids:
        return tuple(ids)
    bare = raw.strip().split()
    return (bare[0].strip("<>"),) if bare and bare[0].strip("<>") else ()


def _collect_headers(
    message: Message, limits: MailLimits, defects: list[str]
) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    for count, (name, value) in enumerate(message.raw_items()):
        if count == limits.max_headers:
            _add(defects, f"{LIMIT_DEFECT}:headers")
            break
        text = str(value)
        if len(text) > limits.max_header_chars:
            _add(defects, f"{LIMIT_DEFECT}:header-length")
            text = text[: limits.max_header_chars]
        raw.setdefault(str(name).strip().lower(), []).append(text)
    return raw


# --- body -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Body:
    """What the walk over the parts found, and what it has spent of the mail's limits."""

    limits: MailLimits
    texts: list[str]
    htmls: list[str]
    attachments: list[Attachment]
    parts: int = 0
    text_chars: int = 0
    attachment_bytes: int = 0


def _part_payload(part: Message, defects: list[str]) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, AssertionError):
        _add(defects, "payload-undecodable")
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _readable_params(part: Message) -> Message:
    """The part's parameter headers with 8-bit octets restored, so non-ASCII filenames survive."""
    raw = [(n, v) for n, v in part.raw_items() if n.lower() in _PARAM_HEADERS]
    if not any(isinstance(v, str) and v != _unescape_raw(v) for _, v in raw):
        return part
    readable = Message()
    for name, value in raw:
        readable[name] = _unescape_raw(str(value))
    return readable


def _filename(part: Message, defects: list[str]) -> str | None:
    try:
        name = _readable_params(part).get_filename()
    except (ValueError, TypeError, LookupError, AssertionError, IndexError):
        _add(defects, "header-unparseable:content-disposition")
        return None
    if name is None:
        return None
    return decode_header_value(name, "filename", defects) or None


def _disposition(part: Message) -> str | None:
    value = part.get("content-disposition")
    if value is None:
        return None
    return str(value).split(";", 1)[0].strip().lower() or None


def _content_type(part: Message, defects: list[str]) -> str:
    try:
        content_type = part.get_content_type()
    except (ValueError, TypeError, IndexError):
        _add(defects, "header-unparseable:content-type")
        return "text/plain"
    return content_type


def _embedded_message_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        try:
            return payload[0].as_bytes(policy=policy.compat32)
        except (ValueError, TypeError, LookupError, UnicodeError, AttributeError, RecursionError):
            return str(payload[0]).encode("utf-8", "replace")
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _make_attachment(
    part: Message, content_type: str, content: bytes, defects: list[str]
) -> Attachment:
    return Attachment(
        filename=_filename(part, defects),
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        inline=_disposition(part) == "inline" or part.get("content-id") is not None,
    )


def _decoded_size_at_most(part: Message) -> int:
    """What the part's payload decodes to at most, known without decoding it."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return 0
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    return len(payload) * 3 // 4 if encoding == "base64" else len(payload)


def _keep_text(text: str, body: _Body, defects: list[str]) -> str:
    room = body.limits.max_text_chars - body.text_chars
    if len(text) > room:
        _add(defects, f"{LIMIT_DEFECT}:text")
        text = text[: max(0, room)]
    body.text_chars += len(text)
    return text


def _room_for_attachment(part: Message, body: _Body, defects: list[str]) -> bool:
    """Whether the part still fits the decoded-attachment budget, judged before it is decoded."""
    if body.attachment_bytes + _decoded_size_at_most(part) > body.limits.max_attachment_bytes:
        _add(defects, f"{LIMIT_DEFECT}:attachments")
        return False
    return True


def _walk(part: Message, body: _Body, defects: list[str], depth: int) -> None:
    if depth > body.limits.max_depth:
        _add(defects, "nesting-too-deep")
        return
    body.parts += 1
    if body.parts > body.limits.max_parts:
        _add(defects, f"{LIMIT_DEFECT}:parts")
        return
    content_type = _content_type(part, defects)
    if content_type == "message/rfc822":
        if not _room_for_attachment(part, body, defects):
            return
        content = _embedded_message_bytes(part)
        body.attachment_bytes += len(content)
        body.attachments.append(_make_attachment(part, content_type, content, defects))
        return
    if part.is_multipart():
        children = part.get_payload()
        if isinstance(children, list):
            for child in children:
                if isinstance(child, Message):
                    _walk(child, body, defects, depth + 1)
        return
    is_attachment = _disposition(part) == "attachment" or _filename(part, defects) is not None
    kept_whole = is_attachment or content_type not in ("text/plain", "text/html")
    budgeted = kept_whole and not content_type.startswith("multipart/")
    if budgeted and not _room_for_attachment(part, body, defects):
        return
    payload = _part_payload(part, defects)
    if not is_attachment and content_type in ("text/plain", "text/html"):
        text = _keep_text(decode_bytes(payload, part.get_content_charset(), defects), body, defects)
        (body.texts if content_type == "text/plain" else body.htmls).append(text)
        return
    if not is_attachment and content_type.startswith("multipart/"):
        # A multipart without a usable boundary: its body is all we can show.
        _add(defects, "missing-boundary")
        body.texts.append(_keep_text(decode_bytes(payload, None, defects), body, defects))
        return
    body.attachment_bytes += len(payload)
    body.attachments.append(_make_attachment(part, content_type, payload, defects))


def _all_defects(message: Message) -> Iterator[object]:
    stack = [message]
    while stack:
        current = stack.pop()
        yield from current.defects
        payload = current.get_payload()
        if isinstance(payload, list):
            stack.extend(p for p in payload if isinstance(p, Message))


# --- the parser -------------------------------------------------------------------------------


def empty_mail(defects: list[str]) -> ParsedMail:
    """A mail of which nothing could be read: what its `defects` say, nothing else."""
    return ParsedMail(
        message_id=None,
        subject="",
        sender=None,
        reply_to=(),
        to=(),
        cc=(),
        date=None,
        in_reply_to=None,
        references=(),
        headers={},
        text="",
        html=None,
        attachments=(),
        defects=tuple(defects),
    )


def header_block(prefix: bytes) -> bytes:
    """The header block at the start of `prefix`, with the blank line that ends it; all of
    `prefix` when no blank line is in it (headers longer than the prefix)."""
    ends = [(found, len(end)) for end in _HEADER_ENDS if (found := prefix.find(end)) >= 0]
    if not ends:
        return prefix
    found, length = min(ends)
    return prefix[: found + length]


def head_of(raw: bytes) -> bytes:
    """The header block of a mail, at most `HEAD_BYTES`: what can be read of any mail cheaply."""
    return header_block(raw[:HEAD_BYTES])


def _over_limit_before_parsing(raw: bytes, limits: MailLimits) -> str | None:
    """The cap a mail is over before the standard parser sees it (then only its header block
    is read): its size, or the number of multiparts it declares."""
    if len(raw) > limits.max_bytes:
        return "size"
    for declared, _ in enumerate(_BOUNDARY_PARAMETER.finditer(raw), start=1):
        if declared > limits.max_multiparts:
            return "multiparts"
    return None


def _parse(raw: bytes, defects: list[str], limits: MailLimits) -> ParsedMail:
    over = _over_limit_before_parsing(raw, limits)
    if over is not None:
        _add(defects, f"{LIMIT_DEFECT}:{over}")
        raw = head_of(raw)
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    for defect in _all_defects(message):
        _add(defects, _defect_code(defect))
    raw_headers = _collect_headers(message, limits, defects)
    headers = {
        name: tuple(decode_header_value(v, name, defects) for v in values)
        for name, values in raw_headers.items()
    }
    addresses = {
        name: _parse_addresses(raw_headers.get(name, []), name, defects)
        for name in _ADDRESS_HEADERS
    }
    message_ids = _message_ids(_first(raw_headers, "message-id"))
    in_reply_to = _message_ids(_first(raw_headers, "in-reply-to"))
    body = _Body(limits=limits, texts=[], htmls=[], attachments=[])
    if over is None:
        _walk(message, body, defects, 0)
    html_body = body.htmls[0] if body.htmls else None
    text = "\n\n".join(t for t in body.texts if t.strip())
    if not text.strip() and html_body is not None:
        text = html_to_text(html_body)
    if not text.strip() and html_body is None and not body.attachments and body.parts:
        _add(defects, "no-body")
    subject_values = headers.get("subject", ())
    return ParsedMail(
        message_id=message_ids[0] if message_ids else None,
        subject=subject_values[0] if subject_values else "",
        sender=addresses["from"][0] if addresses["from"] else None,
        reply_to=addresses["reply-to"],
        to=addresses["to"],
        cc=addresses["cc"],
        date=_parse_date(_first(raw_headers, "date"), defects),
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_message_ids(" ".join(raw_headers.get("references", []))),
        headers=headers,
        text=text,
        html=html_body,
        attachments=tuple(body.attachments),
        defects=tuple(defects),
    )


def _first(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def without_contents(mail: ParsedMail) -> ParsedMail:
    """The mail as it crosses from a worker process: attachments named, sized and hashed, their
    bytes left behind (a 150 MB mail's attachments would be copied once more for nothing)."""
    return replace(mail, attachments=tuple(replace(a, content=b"") for a in mail.attachments))


def parse_mail(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail:
    """Everything readable in a MIME message within `limits`; never raises (what is broken or
    left out is in `defects`)."""
    defects: list[str] = []
    try:
        return _parse(raw, defects, limits)
    except RecursionError:
        _add(defects, "nesting-too-deep")
        return empty_mail(defects)
    except MemoryError:
        _add(defects, f"{LIMIT_DEFECT}:memory")
        return empty_mail(defects)
    except Exception:
        # The contract is "never raises": a human reads the raw mail instead.
        _add(defects, "parse-failed")
        return empty_mail(defects)


# Defects that mean part of the mail was left out for costing too much, by the reason given.
_TOO_LARGE = frozenset(
    f"{LIMIT_DEFECT}:{what}" for what in ("size", "text", "attachments", "memory")
)
_TOO_COMPLEX = frozenset(
    {
        "nesting-too-deep",
        *(f"{LIMIT_DEFECT}:{w}" for w in ("headers", "header-length", "parts", "multiparts")),
    }
)


def quarantine_reason(mail: ParsedMail) -> QuarantineReason | None:
    """Why a parsed mail is a quarantined case, or None: it is over a limit (part of it was left
    out), or nothing in it could be read (no header at all, or the parser gave up)."""
    defects = set(mail.defects)
    if defects & _TOO_LARGE:
        return QuarantineReason.TOO_LARGE
    if defects & _TOO_COMPLEX:
        return QuarantineReason.TOO_COMPLEX
    if not mail.headers or "parse-failed" in defects:
        return QuarantineReason.UNPARSEABLE
    return None
