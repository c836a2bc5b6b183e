"""A notice as an e-mail: RFC 5322 bytes for Graph's MIME `sendMail`.

MIME (not JSON) because it lets the notifier set the Message-ID itself: derived from the notice id,
it is how a restarted notifier finds out in the no-reply mailbox's Sent Items whether a notice
already went out. The `X-Sakspost-Notice` header and Sakspost's seal on it (services/common/seal.py)
mark every notice so that other checks (ingest, the outgoing-mail checks) can ignore it; the header
alone would not. `Auto-Submitted` keeps out-of-office replies away.
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from services.common.outgoing import mark_notice
from services.common.seal import SigningKeys
from services.notifier.notice import Message, Notice


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


def notice_mime(
    notice: Notice, sender: str, sender_name: str, keys: SigningKeys, now: datetime
) -> bytes:
    domain = sender.partition("@")[2]
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = formataddr((sender_name, sender))
    mail["To"] = formataddr((notice.recipient.name, notice.recipient.address))
    mail["Subject"] = notice.message.title
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = notice_message_id(notice.notice_id, domain)
    mark_notice(mail, notice.notice_id, keys, now)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    if notice.message.warning:
        mail["Importance"] = "high"
    mail.set_content(plain_text(notice.message), subtype="plain", charset="utf-8")
    return mail.as_bytes()
