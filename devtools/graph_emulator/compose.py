"""Mail the emulator writes itself: sendMail, drafts, forwards, built into MIME like Exchange would.

Graph clients send JSON messages; what lands in a recipient's mailbox is MIME, so `$value` behaves
the same for sent and for received mail.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr
from typing import Any

from devtools.graph_emulator.errors import GraphError, bad_request
from devtools.graph_emulator.mime_fields import Address, MessageFields

RECIPIENT_FIELDS = ("toRecipients", "ccRecipients", "bccRecipients", "replyTo")


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass
class Draft:
    """An unsent message: its Graph fields, turned into MIME on every change."""

    subject: str = ""
    body_type: str = "text"
    body: str = ""
    recipients: dict[str, list[Address]] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    references: str = ""

    def addresses(self, kind: str) -> list[Address]:
        return self.recipients.get(kind, [])

    def all_recipients(self) -> list[Address]:
        kinds = ("toRecipients", "ccRecipients", "bccRecipients")
        return [a for kind in kinds for a in self.addresses(kind)]


def parse_recipients(value: Any, name: str) -> list[Address]:
    """A Graph recipient list (`[{"emailAddress": {"name", "address"}}]`); 400 if malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"Property {name} must be a collection of recipients.")
    found = []
    for item in value:
        email = item.get("emailAddress") if isinstance(item, dict) else None
        address = email.get("address") if isinstance(email, dict) else None
        if not isinstance(address, str) or "@" not in address:
            raise GraphError(
                400, "ErrorInvalidRecipients", f"At least one recipient in {name} is not valid."
            )
        display = email.get("name") if isinstance(email, dict) else None
        found.append(Address(display if isinstance(display, str) else "", address.strip()))
    return found


def apply_draft_fields(draft: Draft, message: dict[str, Any]) -> None:
    """Copy the Graph message properties a draft may take (subject, body, recipients)."""
    if "subject" in message:
        subject = message["subject"]
        if not isinstance(subject, str):
            raise bad_request("Property subject must be a string.")
        draft.subject = subject
    if "body" in message:
        body = message["body"]
        if not isinstance(body, dict) or not isinstance(body.get("content", ""), str):
            raise bad_request("Property body must be an itemBody.")
        kind = str(body.get("contentType", "text")).lower()
        if kind not in ("text", "html"):
            raise bad_request(f"Invalid contentType '{kind}' (use text or html).")
        draft.body_type, draft.body = kind, body.get("content", "")
    for name in RECIPIENT_FIELDS:
        if name in message:
            draft.recipients[name] = parse_recipients(message[name], name)
    for item in message.get("attachments") or []:
        draft.attachments.append(_file_attachment(item))


def _file_attachment(item: Any) -> Attachment:
    if not isinstance(item, dict) or not isinstance(item.get("contentBytes"), str):
        raise bad_request("Only fileAttachment with contentBytes is supported.")
    try:
        data = base64.b64decode(item["contentBytes"], validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("Attachment contentBytes is not valid base64.") from None
    name = str(item.get("name") or "attachment")
    return Attachment(name, str(item.get("contentType") or "application/octet-stream"), data)


def new_message_id(sender: str) -> str:
    domain = sender.partition("@")[2] or "emulator.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


def _header_addresses(addresses: list[Address]) -> str:
    return ", ".join(formataddr((a.name, a.address)) for a in addresses)


def build_mime(
    draft: Draft, sender: Address, sent: datetime, message_id: str, *, with_bcc: bool
) -> bytes:
    """The draft as RFC 5322 bytes with CRLF line ends; Bcc only in the sender's own copy."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = formataddr((sender.name, sender.address))
    headers = {"toRecipients": "To", "ccRecipients": "Cc", "replyTo": "Reply-To"}
    if with_bcc:
        headers["bccRecipients"] = "Bcc"
    for kind, header in headers.items():
        if draft.addresses(kind):
            mail[header] = _header_addresses(draft.addresses(kind))
    mail["Subject"] = draft.subject
    mail["Date"] = format_datetime(sent)
    mail["Message-ID"] = message_id
    if draft.references:
        mail["In-Reply-To"] = draft.references
        mail["References"] = draft.references
    mail.set_content(draft.body, subtype="html" if draft.body_type == "html" else "plain")
    for attachment in draft.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.name,
        )
    return mail.as_bytes()


def _original_attachments(raw: bytes) -> list[Attachment]:
    try:
        original = BytesParser(policy=policy.default).parsebytes(raw)
        found = []
        for part in original.walk():
            if part.get_content_disposition() != "attachment":
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                name = part.get_filename() or "attachment"
                found.append(Attachment(name, part.get_content_type(), payload))
        return found
    except Exception:  # a forward of malformed mail keeps its text, without attachments
        return []


def forward_draft(original_raw: bytes, original: MessageFields, comment: str) -> Draft:
    """A forward as Outlook writes it: the comment, the original's header block and body,
    and the original's attachments."""
    sender = original.sender.address if original.sender else ""
    to = "; ".join(a.address for a in original.to)
    sent = original.sent.isoformat() if original.sent else ""
    if original.body_type == "html":
        quoted = (
            f"<p>{comment}</p><hr><p><b>From:</b> {sender}<br><b>Sent:</b> {sent}<br>"
            f"<b>To:</b> {to}<br><b>Subject:</b> {original.subject}</p>{original.body}"
        )
    else:
        quoted = (
            f"{comment}\r\n\r\n________________________________\r\nFrom: {sender}\r\n"
            f"Sent: {sent}\r\nTo: {to}\r\nSubject: {original.subject}\r\n\r\n{original.body}"
        )
    return Draft(
        subject=f"FW: {original.subject}",
        body_type=original.body_type,
        body=quoted,
        attachments=_original_attachments(original_raw),
        references=original.internet_message_id,
    )


def draft_to_state(draft: Draft) -> dict[str, Any]:
    return {
        "subject": draft.subject,
        "bodyType": draft.body_type,
        "body": draft.body,
        "recipients": {
            kind: [[a.name, a.address] for a in addresses]
            for kind, addresses in draft.recipients.items()
        },
        "attachments": [
            [a.name, a.content_type, base64.b64encode(a.data).decode("ascii")]
            for a in draft.attachments
        ],
        "references": draft.references,
    }


def draft_from_state(state: dict[str, Any]) -> Draft:
    return Draft(
        subject=state["subject"],
        body_type=state["bodyType"],
        body=state["body"],
        recipients={
            kind: [Address(name, address) for name, address in addresses]
            for kind, addresses in state["recipients"].items()
        },
        attachments=[
            Attachment(name, kind, base64.b64decode(data))
            for name, kind, data in state["attachments"]
        ],
        references=state["references"],
    )
