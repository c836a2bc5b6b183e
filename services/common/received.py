"""Building the `received` event of a mail from its raw MIME (ingest and `sakspost inject`).

Ingest reads the mail in a worker process (`read_received`), never on its event loop: a mail over
a limit there still becomes a `received` event, built from its header block alone and marked with
its quarantine reason, and a mail of which not even that can be read becomes one with what Graph
said about it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from schemas.events import MailReceived, Party
from schemas.identity import make_case_id
from schemas.vocab import QuarantineReason
from services.common.flags import parse_flag_status
from services.common.mail import (
    DEFAULT_LIMITS,
    Address,
    MailLimits,
    ParsedMail,
    empty_mail,
    head_of,
    parse_mail,
    quarantine_reason,
    without_contents,
)
from services.common.mimestore import mime_sha256
from services.common.orgconfig import Organisation
from services.common.outgoing import original_of
from services.common.publisher import Channel
from services.common.quarantine import reason_for
from services.common.workers import OverLimit, WorkerPool

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
    change_key: str | None = None,
    categories: Sequence[str] = (),
    flag_status: str | None = None,
    limits: MailLimits = DEFAULT_LIMITS,
    quarantine: QuarantineReason | None = None,
) -> MailReceived:
    """The `received` event for `raw` delivered to the official `mailbox`.

    A malformed mail is never refused: what could be parsed goes in, and its defects are listed;
    one over `limits` is marked with its quarantine reason (or the `quarantine` given, when the
    caller already knows the full parse was over a limit).
    A mail a colleague's mailbox forwarded to Sakspost (R9c) is its attached original: sender,
    subject and Message-ID are the citizen's, while the MIME kept is what Graph delivered.
    """
    department = org.department_for_address(mailbox)
    if department is None:
        raise NotAnOfficialMailbox(
            f"{mailbox} is not an official address of {org.name} (fix: use one of the "
            "departments' addresses in the organisation file)"
        )
    mail = parsed if parsed is not None else parse_mail(original_of(raw, org), limits)
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
        mime_sha256=mime_sha256(raw),
        mime_size=len(raw),
        parse_defects=list(mail.defects),
        change_key=change_key,
        categories=list(categories),
        # Only Graph's three statuses: anything else is as good as unknown.
        flag_status=parse_flag_status(flag_status),
        quarantine=quarantine or quarantine_reason(mail),
    )


@dataclass(frozen=True, slots=True)
class GraphFacts:
    """What Graph said about a message, besides its MIME: everything a `received` event needs
    that the mail itself does not hold."""

    graph_message_id: str
    received_at: datetime
    conversation_id: str | None = None
    change_key: str | None = None
    categories: Sequence[str] = field(default_factory=tuple)
    flag_status: str | None = None


def _build(
    org: Organisation,
    mailbox: str,
    raw: bytes,
    facts: GraphFacts,
    limits: MailLimits,
    parsed: ParsedMail | None = None,
    quarantine: QuarantineReason | None = None,
) -> MailReceived:
    return build_received(
        org,
        mailbox,
        raw,
        facts.graph_message_id,
        facts.received_at,
        facts.conversation_id,
        parsed,
        change_key=facts.change_key,
        categories=facts.categories,
        flag_status=facts.flag_status,
        limits=limits,
        quarantine=quarantine,
    )


def _head_only(raw: bytes, limits: MailLimits) -> ParsedMail:
    """Run in a worker: the header block alone (sender, subject, Message-ID), cheaply."""
    return without_contents(parse_mail(head_of(raw), limits))


async def read_received(
    pool: WorkerPool,
    org: Organisation,
    mailbox: str,
    raw: bytes,
    facts: GraphFacts,
    limits: MailLimits,
) -> MailReceived:
    """`build_received` in a worker process. Over the worker's CPU or memory limit, the event is
    built from the header block (read in a worker too) and marked with the limit's quarantine
    reason; when even that is over a limit, from Graph's facts alone, marked `unparseable`."""
    event = await pool.run(_build, org, mailbox, raw, facts, limits)
    if not isinstance(event, OverLimit):
        return event
    head = await pool.run(_head_only, raw, limits)
    if isinstance(head, OverLimit):
        # Nothing is parsed here, but hashing a large mail is still work: off the event loop.
        unread = empty_mail(["parse-failed"])
        return await asyncio.to_thread(_build, org, mailbox, raw, facts, limits, unread, None)
    return await asyncio.to_thread(
        _build, org, mailbox, raw, facts, limits, head, reason_for(event)
    )


def official_recipient(mail: ParsedMail, org: Organisation) -> str | None:
    """The first official address among the mail's To and Cc recipients, if any."""
    for address in (*mail.to, *mail.cc):
        if org.department_for_address(address.address) is not None:
            return address.address
    return None
