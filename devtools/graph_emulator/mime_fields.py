"""What Graph shows of a stored MIME message: subject, addresses, ids, dates, body and preview.

Mail arrives malformed in every way imaginable, so every field is extracted on its own and falls
back to an empty value instead of raising: one bad header never hides the rest of the mail.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import Header, decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import TypeVar

PREVIEW_LENGTH = 255
_T = TypeVar("_T")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Not `<[^>]*>`: on tag soup that never closes (`"<a " * 10000`) each `<` would scan to the end.
_TAG = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Address:
    name: str
    address: str

    def as_graph(self) -> dict[str, dict[str, str]]:
        return {"emailAddress": {"name": self.name or self.address, "address": self.address}}


@dataclass(frozen=True)
class MessageFields:
    subject: str
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    internet_message_id: str
    thread_root: str
    sent: datetime | None
    has_attachments: bool
    body_type: str
    body: str
    preview: str
    importance: str
    headers: tuple[tuple[str, str], ...]


def _safe(extract: Callable[[], _T], default: _T) -> _T:
    try:
        return extract()
    except Exception:  # malformed mail must never stop the other fields
        return default


def _unescaped(value: object) -> str:
    """A header's text with raw 8-bit bytes (SMTPUTF8 headers) read as UTF-8.

    compat32 hands such a header back as a Header object whose str() is replacement characters,
    or as a str with surrogate escapes; both keep the original bytes."""
    if isinstance(value, Header):
        return "".join(
            part.decode("utf-8", "replace") if isinstance(part, bytes) else part
            for part, _charset in decode_header(value)
        )
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _raw_header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else _SPACE.sub(" ", _unescaped(value)).strip()


def _addresses(message: Message, name: str) -> tuple[Address, ...]:
    values = [_unescaped(v) for v in message.get_all(name) or []]
    found = []
    for display, address in getaddresses(values):
        if "@" in address:
            found.append(Address(display.strip(), address.strip()))
    return tuple(found)


def _message_ids(text: str) -> list[str]:
    return _MESSAGE_ID.findall(text)


def _sent(message: Message) -> datetime | None:
    value = parsedate_to_datetime(_raw_header(message, "Date"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _body(message: EmailMessage) -> tuple[str, str]:
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return "text", ""
    kind = "html" if part.get_content_subtype() == "html" else "text"
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return kind, content if isinstance(content, str) else ""


def _preview(kind: str, body: str) -> str:
    text = html.unescape(_TAG.sub(" ", body)) if kind == "html" else body
    return _SPACE.sub(" ", text).strip()[:PREVIEW_LENGTH]


def _has_attachments(message: Message) -> bool:
    return any(part.get_content_disposition() == "attachment" for part in message.walk())


def _importance(message: Message) -> str:
    value = (_raw_header(message, "Importance") or _raw_header(message, "X-Priority")).lower()
    if value.startswith(("high", "1", "2")):
        return "high"
    if value.startswith(("low", "4", "5")):
        return "low"
    return "normal"


def conversation_id(thread_root: str) -> str:
    """Graph-like conversation id shared by every mail of a thread (same References root)."""
    digest = hashlib.sha256(thread_root.encode("utf-8", "replace")).digest()
    return "AAQk" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def extract_fields(raw: bytes) -> MessageFields:
    """The Graph-visible fields of a MIME message; never raises."""
    no_addresses: tuple[Address, ...] = ()
    no_ids: list[str] = []
    no_headers: tuple[tuple[str, str], ...] = ()
    message = _safe(lambda: BytesParser(policy=policy.default).parsebytes(raw), EmailMessage())
    legacy = _safe(lambda: BytesParser(policy=policy.compat32).parsebytes(raw), Message())
    senders = _safe(lambda: _addresses(legacy, "From"), no_addresses) or _safe(
        lambda: _addresses(legacy, "Sender"), no_addresses
    )
    message_ids = _safe(lambda: _message_ids(_raw_header(legacy, "Message-ID")), no_ids)
    internet_message_id = message_ids[0] if message_ids else ""
    references = _safe(lambda: _message_ids(_raw_header(legacy, "References")), no_ids)
    in_reply_to = _safe(lambda: _message_ids(_raw_header(legacy, "In-Reply-To")), no_ids)
    thread_root = (references or in_reply_to or [internet_message_id])[0]
    subject = _safe(lambda: _SPACE.sub(" ", str(message.get("Subject", ""))).strip(), "")
    kind, body = _safe(lambda: _body(message), ("text", ""))
    headers = _safe(
        lambda: tuple((k, _SPACE.sub(" ", _unescaped(v))) for k, v in legacy.items()), no_headers
    )
    return MessageFields(
        subject=subject or _safe(lambda: _raw_header(legacy, "Subject"), ""),
        sender=senders[0] if senders else None,
        to=_safe(lambda: _addresses(legacy, "To"), no_addresses),
        cc=_safe(lambda: _addresses(legacy, "Cc"), no_addresses),
        reply_to=_safe(lambda: _addresses(legacy, "Reply-To"), no_addresses),
        internet_message_id=internet_message_id,
        thread_root=thread_root,
        sent=_safe(lambda: _sent(legacy), None),
        has_attachments=_safe(lambda: _has_attachments(legacy), False),
        body_type=kind,
        body=body,
        preview=_safe(lambda: _preview(kind, body), ""),
        importance=_safe(lambda: _importance(legacy), "normal"),
        headers=headers,
    )
