"""The one robust MIME parser every service uses.

`parse_mail` never raises, for any bytes: real mail is often malformed (broken headers, unknown
charsets, missing boundaries, LF-only files, no body at all), and a mail that cannot be read must
still become a case a human can look at (R13). What could not be read is reported as stable short
defect codes instead of exceptions.

The message is parsed with the `compat32` policy because it never raises on access; headers are
decoded here, piece by piece, so that one bad header spoils only itself.
"""

from __future__ import annotations

import codecs
import email.errors
import hashlib
import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from types import MappingProxyType

# Deeper nesting than this is not mail but an attack on the parser.
MAX_PART_DEPTH = 30

_ADDRESS_HEADERS = ("from", "reply-to", "to", "cc")
_PARAM_HEADERS = ("content-type", "content-disposition")
_GROUPS = re.compile(r"[^,:;]*:[^;]*;")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_FOLDING = re.compile(r"\r?\n[ \t]*")
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
    headers: Mapping[str, tuple[str, ...]]  # lower-case names -> decoded values
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
        chunks = decode_header(text)
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


# --- HTML to text -----------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"})
    _HIDDEN = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable text from HTML, for mail that has no plain-text part."""
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
    except (AssertionError, ValueError):
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    text = "".join(extractor.parts).replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- headers ----------------------------------------------------------------------------------


def _parse_addresses(raw_values: list[str], name: str, defects: list[str]) -> tuple[Address, ...]:
    found: list[Address] = []
    unfolded = [_unescape_raw(_FOLDING.sub(" ", value)) for value in raw_values]
    try:
        pairs = getaddresses(unfolded)
    except (ValueError, IndexError, TypeError):
        pairs = []
    for display, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if "@" not in addr:
            continue
        label = decode_header_value(display, name, defects) if display else ""
        found.append(Address(name=label or None, address=addr))
    # An empty group ("undisclosed-recipients:;") is a valid way to name nobody.
    if not found and any(_GROUPS.sub("", value).strip(" ,") for value in unfolded):
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


def _collect_headers(message: Message) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        raw.setdefault(str(name).strip().lower(), []).append(str(value))
    return raw


# --- body -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Body:
    texts: list[str]
    htmls: list[str]
    attachments: list[Attachment]


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
        except (ValueError, TypeError, LookupError, UnicodeError, AttributeError):
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


def _walk(part: Message, body: _Body, defects: list[str], depth: int) -> None:
    if depth > MAX_PART_DEPTH:
        _add(defects, "nesting-too-deep")
        return
    content_type = _content_type(part, defects)
    if content_type == "message/rfc822":
        content = _embedded_message_bytes(part)
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
    payload = _part_payload(part, defects)
    if not is_attachment and content_type in ("text/plain", "text/html"):
        text = decode_bytes(payload, part.get_content_charset(), defects)
        (body.texts if content_type == "text/plain" else body.htmls).append(text)
        return
    if not is_attachment and content_type.startswith("multipart/"):
        # A multipart without a usable boundary: its body is all we can show.
        _add(defects, "missing-boundary")
        body.texts.append(decode_bytes(payload, None, defects))
        return
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


def _empty(defects: list[str]) -> ParsedMail:
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
        headers=MappingProxyType({}),
        text="",
        html=None,
        attachments=(),
        defects=tuple(defects),
    )


def _parse(raw: bytes, defects: list[str]) -> ParsedMail:
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    for defect in _all_defects(message):
        _add(defects, _defect_code(defect))
    raw_headers = _collect_headers(message)
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
    body = _Body(texts=[], htmls=[], attachments=[])
    _walk(message, body, defects, 0)
    html_body = body.htmls[0] if body.htmls else None
    text = "\n\n".join(t for t in body.texts if t.strip())
    if not text.strip() and html_body is not None:
        text = html_to_text(html_body)
    if not text.strip() and html_body is None and not body.attachments:
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
        headers=MappingProxyType(headers),
        text=text,
        html=html_body,
        attachments=tuple(body.attachments),
        defects=tuple(defects),
    )


def _first(headers: Mapping[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def parse_mail(raw: bytes) -> ParsedMail:
    """Everything readable in a MIME message; never raises (what is broken is in `defects`)."""
    defects: list[str] = []
    try:
        return _parse(raw, defects)
    except (RecursionError, MemoryError):
        _add(defects, "nesting-too-deep")
        return _empty(defects)
    except Exception:
        # The contract is "never raises": a human reads the raw mail instead.
        _add(defects, "parse-failed")
        return _empty(defects)
