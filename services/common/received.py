"""Building the `received` event of a mail from its raw MIME (ingest and `sakspost inject`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from schemas.events import MailReceived, Party
from schemas.identity import make_case_id
from services.common.flags import parse_flag_status
from services.common.mail import Address, ParsedMail, parse_mail
from services.common.mimelimits import TOO_LARGE_DEFECT, TRUNCATED_DEFECT, header_defects
from services.common.mimestore import mime_sha256
from services.common.orgconfig import Organisation
from services.common.outgoing import original_of
from services.common.publisher import Channel
from services.common.seal import SigningKeys

RECEIVED_CHANNEL = Channel(
    "sakspost.mail.received.{department}", MailReceived, "A mail reached Sakspost"
)


class NotAnOfficialMailbox(ValueError):
    """Only the official (shared) mailboxes' mail enters the stream (R9c; docs/rules.md, privacy
    note for personal mailboxes)."""


def _party(address: Address, org: Organisation) -> Party:
    staff = org.staff_by_email(address.address)
    return Party(
        address=address.address,
        name=address.name or (staff.name if staff else None),
        id=staff.id if staff else None,
    )


def build_received(
    org: Organisation,
    mailbox: str,
    raw: bytes,
    graph_message_id: str,
    received_at: datetime,
    conversation_id: str | None = None,
    parsed: ParsedMail | None = None,
    *,
    keys: SigningKeys,
    change_key: str | None = None,
    categories: Sequence[str] = (),
    flag_status: str | None = None,
    oversize: bool = False,
    truncated: bool = False,
    stored_sha256: str | None = None,
    stored_size: int | None = None,
) -> MailReceived:
    """The `received` event for `raw` delivered to the official `mailbox`.

    A malformed mail is never refused: what could be parsed goes in, and its defects are listed.
    A mail a colleague's mailbox forwarded to Sakspost (R9c) is its attached original: sender,
    subject and Message-ID are the citizen's, while the MIME kept is what Graph delivered. Only a
    forward whose seal verifies is opened: anything else is the sender's own mail.

    A mail too large to read whole (`oversize`, `mimelimits.py`) comes as its header block alone,
    with the SHA-256 and size of the MIME as stored; `truncated` says the stored MIME itself is
    only the first part of the mail (over ingest's download cap).
    """
    department = org.department_for_address(mailbox)
    if department is None:
        raise NotAnOfficialMailbox(
            f"{mailbox} is not an official address of {org.name} (fix: use one of the "
            "departments' addresses in the organisation file)"
        )
    mail = parsed if parsed is not None else parse_mail(original_of(raw, org, keys, received_at))
    case_id = make_case_id(mailbox, mail.message_id, graph_message_id)
    return MailReceived.build(
        case_id=case_id,
        department=department,
        mailbox=mailbox.strip().lower(),
        internet_message_id=mail.message_id,
        graph_message_id=graph_message_id,
        conversation_id=conversation_id,
        sender=_party(mail.sender, org) if mail.sender else None,
        to=[_party(a, org) for a in mail.to],
        cc=[_party(a, org) for a in mail.cc],
        subject=mail.subject,
        received_at=received_at,
        mime_sha256=stored_sha256 or mime_sha256(raw),
        mime_size=len(raw) if stored_size is None else stored_size,
        parse_defects=[
            *(header_defects(mail.defects) if oversize else mail.defects),
            *([TOO_LARGE_DEFECT] if oversize else []),
            *([TRUNCATED_DEFECT] if truncated else []),
        ],
        change_key=change_key,
        categories=list(categories),
        # Only Graph's three statuses: anything else is as good as unknown.
        flag_status=parse_flag_status(flag_status),
    )


def official_recipient(mail: ParsedMail, org: Organisation) -> str | None:
    """The first official address among the mail's To and Cc recipients, if any."""
    for address in (*mail.to, *mail.cc):
        if org.department_for_address(address.address) is not None:
            return address.address
    return None
