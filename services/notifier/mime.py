"""A notice as an e-mail: RFC 5322 bytes for Graph's MIME `sendMail`.

MIME (not JSON) because it lets the notifier set the Message-ID itself: derived from the notice id,
it is how a restarted notifier finds out in the no-reply mailbox's Sent Items whether a notice
already went out. The `X-Sakspost-Notice` header and Sakspost's seal on it (services/common/seal.py)
mark every notice so that other checks (ingest, the outgoing-mail checks) can ignore it; the header
alone would not. `Auto-Submitted` keeps out-of-office replies away.

The bytes are written here rather than through `email.message.EmailMessage`: the standard
library's header parsing and refolding took a notice several milliseconds, more than the rest of
the notifier's work on it. What goes out is the same mail: headers with RFC 2047 encoded words
where they are not ASCII, a UTF-8 body in base64, and a value with a line break refused (as
`EmailMessage` refuses it), so the deliverer falls back to the next channel.
"""

from __future__ import annotations

import base64
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

from services.common.outgoing import notice_digest, notice_marks
from services.common.seal import SigningKeys
from services.notifier.notice import Message, Notice

# RFC 5322's recommended line length; longer or non-ASCII values are folded by `Header`.
_LINE = 78
_CRLF = "\r\n"


def notice_message_id(notice_id: str, domain: str) -> str:
    """The Message-ID of a notice's e-mail, with angle brackets as Graph's internetMessageId."""
    return f"<{notice_id}.notice@{domain}>"


def plain_text(message: Message) -> str:
    parts: list[str] = []
    if message.warning:
        parts.append(message.warning)
    parts.extend(message.lines)
    if message.facts:
        parts.append("\n".join(f"{label}: {value}" for label, value in message.facts))
    if message.link:
        parts.append(f"{message.link_label or message.link}:\n{message.link}")
    return "\n\n".join(parts) + "\n"


def _header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"the {name} header may not hold a line break")
    if value.isascii() and len(name) + 2 + len(value) <= _LINE:
        return f"{name}: {value}{_CRLF}"
    # Plain ASCII folds at its spaces; a word too long for a line (a hostile subject) and any
    # other text go as encoded words, which fold anywhere.
    fits = max((len(word) for word in value.split()), default=0) <= _LINE - len(name) - 2
    charset = "us-ascii" if value.isascii() and fits else "utf-8"
    folded = Header(value, charset, maxlinelen=_LINE, header_name=name).encode(linesep=_CRLF)
    return f"{name}: {folded}{_CRLF}"


def _address(name: str, address: str) -> str:
    if "\r" in name or "\n" in name:
        raise ValueError("a display name may not hold a line break")
    return formataddr((name, address), charset="utf-8")


def notice_mime(
    notice: Notice, sender: str, sender_name: str, keys: SigningKeys, now: datetime
) -> bytes:
    domain = sender.partition("@")[2]
    title = notice.message.title
    message_id = notice_message_id(notice.notice_id, domain)
    recipient = notice.recipient.address
    headers = {
        "From": _address(sender_name, sender),
        "To": _address(notice.recipient.name, recipient),
        "Subject": title,
        "Date": format_datetime(now),
        "Message-ID": message_id,
        **notice_marks(
            notice.notice_id, sender, notice_digest(message_id, [recipient], title), keys, now
        ),
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }
    if notice.message.warning:
        headers["Importance"] = "high"
    headers.update(
        {
            "MIME-Version": "1.0",
            "Content-Type": 'text/plain; charset="utf-8"',
            "Content-Transfer-Encoding": "base64",
        }
    )
    body = _CRLF.join(plain_text(notice.message).splitlines()) + _CRLF
    encoded = base64.encodebytes(body.encode("utf-8")).decode("ascii").replace("\n", _CRLF)
    head = "".join(_header(name, value) for name, value in headers.items())
    return (head + _CRLF + encoded).encode("ascii")
