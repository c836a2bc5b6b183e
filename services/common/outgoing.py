"""Mail Sakspost writes itself, and how every service recognises it.

- Notices carry `X-Sakspost-Notice`: no check on outgoing mail ever looks at them.
- A misdirected mail moved from a personal mailbox to Sakspost (R9c) is sent as a wrapper with the
  original attached whole, as `message/rfc822`, and marked with `X-Sakspost-Forwarded-By`. The
  original's bytes are attached verbatim (no re-encoding), so its sender, date, Message-ID and body
  survive exactly; `original_of` gives them back, and every service treats that original as the
  mail (ingest's `received`, the classifier), not the colleague's wrapper.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, parseaddr

from services.common.orgconfig import Organisation

NOTICE_HEADER = "X-Sakspost-Notice"
FORWARD_HEADER = "X-Sakspost-Forwarded-By"
ORIGINAL_NAME = "original.eml"
_CRLF = b"\r\n"


def forward_message_id(original: bytes, owner: str) -> str:
    """The wrapper's Message-ID, the same for the same mail and owner (a resend is recognisable)."""
    digest = hashlib.sha256(owner.lower().encode() + b"\n" + original).hexdigest()[:32]
    return f"<{digest}.forward@{owner.partition('@')[2] or 'sakspost.invalid'}>"


def forward_mime(
    original: bytes,
    owner_name: str,
    owner: str,
    to: str,
    subject: str,
    note: str,
    now: datetime,
) -> bytes:
    """The wrapper that moves `original` from `owner`'s mailbox to the Sakspost address `to`."""
    boundary = "sakspost-" + hashlib.sha256(original).hexdigest()[:24]
    head = EmailMessage(policy=policy.SMTP)
    head["From"] = formataddr((owner_name, owner))
    head["To"] = to
    head["Subject"] = subject
    head["Date"] = format_datetime(now)
    head["Message-ID"] = forward_message_id(original, owner)
    head[FORWARD_HEADER] = owner
    head["Auto-Submitted"] = "auto-generated"
    head["MIME-Version"] = "1.0"
    text = EmailMessage(policy=policy.SMTP)
    text.set_content(note, subtype="plain", charset="utf-8")
    body = original if original.endswith(_CRLF) else original + _CRLF
    # The header block is closed by hand: the multipart body is written here, byte for byte.
    headers = head.as_bytes().rstrip(_CRLF) + _CRLF
    return b"".join(
        [
            headers,
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode(),
            f"--{boundary}\r\n".encode(),
            text.as_bytes(),
            _CRLF,
            f"--{boundary}\r\n".encode(),
            b"Content-Type: message/rfc822\r\n",
            f'Content-Disposition: attachment; filename="{ORIGINAL_NAME}"\r\n\r\n'.encode(),
            body,
            # The CRLF before a delimiter belongs to the delimiter, not to the original.
            _CRLF,
            f"--{boundary}--\r\n".encode(),
        ]
    )


def _attached_original(raw: bytes, boundary: str) -> bytes | None:
    """The bytes of the `message/rfc822` part between the boundaries, exactly as attached."""
    delimiter = b"\r\n--" + boundary.encode()
    for part in raw.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        headers, _, content = part.partition(b"\r\n\r\n")
        if b"message/rfc822" in headers.lower():
            return content
    return None


def original_of(raw: bytes, org: Organisation) -> bytes:
    """The mail a Sakspost forward carries, else `raw` itself.

    Only a wrapper sent by the organisation's own staff is unwrapped: an outsider cannot make
    Sakspost believe a mail came from someone else by adding the header.
    """
    try:
        head = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        forwarded_by = head.get(FORWARD_HEADER)
        sender = parseaddr(str(head.get("From", "")))[1]
        boundary = head.get_boundary()
    except Exception:  # malformed mail is never a forward; the parser lists its defects later
        return raw
    if not forwarded_by or not boundary or org.staff_by_email(sender) is None:
        return raw
    return _attached_original(raw, boundary) or raw


def is_sakspost_mail(raw: bytes) -> bool:
    """A notice or a forward written by Sakspost: outgoing-mail checks never judge these."""
    try:
        head = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    except Exception:
        return False
    return bool(head.get(NOTICE_HEADER) or head.get(FORWARD_HEADER))
