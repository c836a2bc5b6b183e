"""Mail Sakspost writes itself, and how every service recognises it.

- Notices carry `X-Sakspost-Notice`: no check on outgoing mail ever looks at them.
- A misdirected mail moved from a personal mailbox to Sakspost (R9c) is sent as a wrapper with the
  original attached whole, as `message/rfc822`, and marked with `X-Sakspost-Forwarded-By`. The
  original's bytes are attached verbatim (no re-encoding), so its sender, date, Message-ID and body
  survive exactly; `original_of` gives them back, and every service treats that original as the
  mail (ingest's `received`, the classifier), not the colleague's wrapper.
- Those headers are only claims: anyone can write them. Each forward and notice also carries
  Sakspost's keyed seal (services/common/seal.py), and a marker counts only when its seal
  verifies. A marker whose seal does not (`Marker.FORGED`) is ignored, so the mail is treated as
  the sender's own, and the service that first meets it raises a `forged_marker` alert.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from enum import Enum

from services.common.orgconfig import Organisation
from services.common.seal import SEAL_HEADER, SigningKeys

NOTICE_HEADER = "X-Sakspost-Notice"
FORWARD_HEADER = "X-Sakspost-Forwarded-By"
ORIGINAL_NAME = "original.eml"
FORWARD_PURPOSE, NOTICE_PURPOSE = "forward", "notice"
_CRLF = b"\r\n"


class Marker(Enum):
    """What a mail's Sakspost headers prove."""

    NONE = "none"  # no Sakspost marker: somebody's mail
    SEALED = "sealed"  # Sakspost's own forward or notice, its seal verified
    FORGED = "forged"  # a marker without a valid seal: treated as the sender's own mail


@dataclass(frozen=True)
class Opened:
    """A received mail opened: the mail to treat as received, and what its markers proved."""

    mail: bytes
    marker: Marker


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
    keys: SigningKeys,
) -> bytes:
    """The wrapper that moves `original` from `owner`'s mailbox to the Sakspost address `to`."""
    original_sha256 = hashlib.sha256(original).hexdigest()
    boundary = "sakspost-" + original_sha256[:24]
    head = EmailMessage(policy=policy.SMTP)
    head["From"] = formataddr((owner_name, owner))
    head["To"] = to
    head["Subject"] = subject
    head["Date"] = format_datetime(now)
    head["Message-ID"] = forward_message_id(original, owner)
    head[FORWARD_HEADER] = owner
    head[SEAL_HEADER] = keys.seal(FORWARD_PURPOSE, owner, original_sha256, now)
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


def notice_digest(message_id: str, recipients: list[str], subject: str) -> str:
    """What a notice's seal vouches for: its Message-ID, recipients' addresses and subject,
    compared as decoded text, so that Exchange re-folding or re-encoding a header does not break
    the seal while copying the seal onto another mail does."""
    addresses = sorted(address.lower() for address in recipients)
    text = "\n".join((message_id.strip(), ",".join(addresses), " ".join(subject.split())))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _notice_digest(head: Message) -> str:
    recipients = [address for _, address in getaddresses([str(head["To"] or "")])]
    return notice_digest(str(head["Message-ID"] or ""), recipients, str(head["Subject"] or ""))


def notice_marks(
    notice_id: str, sender: str, digest: str, keys: SigningKeys, now: datetime
) -> dict[str, str]:
    """The headers that mark a notice from `sender` with `digest` (`notice_digest`) as Sakspost's
    own, sealed."""
    return {NOTICE_HEADER: notice_id, SEAL_HEADER: keys.seal(NOTICE_PURPOSE, sender, digest, now)}


def mark_notice(mail: EmailMessage, notice_id: str, keys: SigningKeys, now: datetime) -> None:
    """Mark a finished notice (From, To, Subject, Message-ID set) as Sakspost's own, sealed."""
    sender = parseaddr(str(mail["From"]))[1]
    for name, value in notice_marks(notice_id, sender, _notice_digest(mail), keys, now).items():
        mail[name] = value


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


def _head(raw: bytes) -> Message | None:
    """The top-level header block only: the body, up to the mail size limit, is never decoded."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    block = raw[: min(ends) + 2] if ends else raw
    try:
        return BytesParser(policy=policy.default).parsebytes(block, headersonly=True)
    except Exception:  # malformed mail carries no marker; the parser lists its defects later
        return None


def _sender(head: Message) -> str:
    return parseaddr(str(head.get("From", "")))[1].strip().lower()


def _sealed_forward(
    raw: bytes, head: Message, org: Organisation, keys: SigningKeys, received_at: datetime | None
) -> bytes | None:
    """The original a genuine forward carries: sealed by Sakspost for a staff member's mailbox,
    sent from that mailbox; else None."""
    owner = parseaddr(str(head.get(FORWARD_HEADER, "")))[1].strip().lower()
    boundary = head.get_boundary()
    if not owner or not boundary or _sender(head) != owner or org.staff_by_email(owner) is None:
        return None
    original = _attached_original(raw, boundary)
    if original is None:
        return None
    digest = hashlib.sha256(original).hexdigest()
    seal = str(head.get(SEAL_HEADER, ""))
    return original if keys.verify(seal, FORWARD_PURPOSE, owner, digest, received_at) else None


def _sealed_notice(head: Message, keys: SigningKeys, received_at: datetime | None) -> bool:
    seal = str(head.get(SEAL_HEADER, ""))
    return keys.verify(seal, NOTICE_PURPOSE, _sender(head), _notice_digest(head), received_at)


def open_received(
    raw: bytes, org: Organisation, keys: SigningKeys, received_at: datetime | None
) -> Opened:
    """The mail a sealed Sakspost forward carries, else `raw` itself, with what its marker proved.

    `received_at` is when Graph received the mail (None: not known here; the seal's key and what
    it vouches for are still checked, its age was checked by ingest).
    """
    head = _head(raw)
    if head is None or head.get(FORWARD_HEADER) is None:
        return Opened(raw, Marker.NONE)
    try:
        original = _sealed_forward(raw, head, org, keys, received_at)
    except Exception:  # a hostile wrapper is no forward
        original = None
    if original is None:
        return Opened(raw, Marker.FORGED)
    return Opened(original, Marker.SEALED)


def original_of(
    raw: bytes, org: Organisation, keys: SigningKeys, received_at: datetime | None
) -> bytes:
    """The mail a sealed Sakspost forward carries, else `raw` itself."""
    return open_received(raw, org, keys, received_at).mail


def sakspost_marker(
    raw: bytes, org: Organisation, keys: SigningKeys, sent_at: datetime | None
) -> Marker:
    """Whether a mail is Sakspost's own notice or forward (outgoing-mail checks never judge it),
    somebody's mail, or somebody's mail dressed up as Sakspost's."""
    head = _head(raw)
    if head is None or (head.get(NOTICE_HEADER) is None and head.get(FORWARD_HEADER) is None):
        return Marker.NONE
    try:
        sealed = (
            _sealed_notice(head, keys, sent_at)
            if head.get(NOTICE_HEADER) is not None
            else _sealed_forward(raw, head, org, keys, sent_at) is not None
        )
    except Exception:  # a hostile header is no seal
        sealed = False
    return Marker.SEALED if sealed else Marker.FORGED
