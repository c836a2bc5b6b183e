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
from services.common.mimelimits import TOO_LARGE_DEFECT, TRUNCATED_DEFECT, header_defects
from services.common.mimestore import mime_sha256
from services.common.orgconfig import Organisation
from services.common.outgoing import Marker, Opened, open_received, original_of
from services.common.publisher import Channel
from services.common.quarantine import reason_for
from services.common.seal import SigningKeys
from services.common.workers import OverLimit, WorkerPool

RECEIVED_CHANNEL = Channel(
    "sakspost.mail.received.{department}", MailReceived, "A mail reached Sakspost"
)


@dataclass(frozen=True, slots=True)
class StoredMime:
    """The MIME as ingest kept it: its SHA-256 and size, whether the bytes read are only its header
    block (`oversize`: over the parse cap) and whether the store holds only its first part
    (`truncated`: over ingest's download cap)."""

    sha256: str
    size: int
    oversize: bool = False
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class ReadMail:
    """A received mail as ingest read it: its event, what its Sakspost marker proved, and for a
    sealed forward the SHA-256 of the original it carries."""

    event: MailReceived
    marker: Marker = Marker.NONE
    original_sha256: str | None = None


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
    limits: MailLimits = DEFAULT_LIMITS,
    quarantine: QuarantineReason | None = None,
    stored: StoredMime | None = None,
) -> MailReceived:
    """The `received` event for `raw` delivered to the official `mailbox`.

    A malformed mail is never refused: what could be parsed goes in, and its defects are listed;
    one over `limits` is marked with its quarantine reason (or the `quarantine` given, when the
    caller already knows the full parse was over a limit).
    A mail a colleague's mailbox forwarded to Sakspost (R9c) is its attached original: sender,
    subject and Message-ID are the citizen's, while the MIME kept is what Graph delivered. Only a
    forward whose seal verifies is opened: anything else is the sender's own mail.

    A mail too large to read whole (`stored.oversize`, `mimelimits.py`) comes as its header block
    alone and is quarantined `too_large`; `stored` gives the SHA-256 and size of the MIME as kept.
    """
    department = org.department_for_address(mailbox)
    if department is None:
        raise NotAnOfficialMailbox(
            f"{mailbox} is not an official address of {org.name} (fix: use one of the "
            "departments' addresses in the organisation file)"
        )
    mail = (
        parsed
        if parsed is not None
        else parse_mail(original_of(raw, org, keys, received_at), limits)
    )
    kept = stored or StoredMime(mime_sha256(raw), len(raw))
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
        mime_sha256=kept.sha256,
        mime_size=kept.size,
        parse_defects=[
            *(header_defects(mail.defects) if kept.oversize else mail.defects),
            *([TOO_LARGE_DEFECT] if kept.oversize else []),
            *([TRUNCATED_DEFECT] if kept.truncated else []),
        ],
        change_key=change_key,
        categories=list(categories),
        # Only Graph's three statuses: anything else is as good as unknown.
        flag_status=parse_flag_status(flag_status),
        quarantine=quarantine
        or (QuarantineReason.TOO_LARGE if kept.oversize else quarantine_reason(mail)),
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
    keys: SigningKeys,
    mailbox: str,
    raw: bytes,
    facts: GraphFacts,
    stored: StoredMime,
    limits: MailLimits,
    parsed: ParsedMail | None = None,
    quarantine: QuarantineReason | None = None,
) -> ReadMail:
    """Run in a worker: the event, and what the mail's Sakspost marker proved. A sealed forward
    is opened to its original; a header block (a mail over the parse cap) is never opened, since
    the original it would carry is not in it."""
    opened = Opened(raw, Marker.NONE)
    if parsed is None:
        if not stored.oversize:
            opened = open_received(raw, org, keys, facts.received_at)
        parsed = parse_mail(opened.mail, limits)
    event = build_received(
        org,
        mailbox,
        raw,
        facts.graph_message_id,
        facts.received_at,
        facts.conversation_id,
        parsed,
        keys=keys,
        change_key=facts.change_key,
        categories=facts.categories,
        flag_status=facts.flag_status,
        limits=limits,
        quarantine=quarantine,
        stored=stored,
    )
    sealed = opened.marker is Marker.SEALED
    return ReadMail(event, opened.marker, mime_sha256(opened.mail) if sealed else None)


def _head_only(raw: bytes, limits: MailLimits) -> ParsedMail:
    """Run in a worker: the header block alone (sender, subject, Message-ID), cheaply."""
    return without_contents(parse_mail(head_of(raw), limits))


async def read_received(
    pool: WorkerPool,
    org: Organisation,
    keys: SigningKeys,
    mailbox: str,
    raw: bytes,
    facts: GraphFacts,
    stored: StoredMime,
    limits: MailLimits,
) -> ReadMail:
    """`build_received` in a worker process, with what the mail's marker proved. Over the
    worker's CPU or memory limit, the event is built from the header block (read in a worker
    too) and marked with the limit's quarantine reason; when even that is over a limit, from
    Graph's facts alone, marked `unparseable`."""
    built = await pool.run(_build, org, keys, mailbox, raw, facts, stored, limits)
    if not isinstance(built, OverLimit):
        return built
    head = await pool.run(_head_only, raw, limits)
    # What is left reads no body, but it still touches what the sender wrote: off the event loop.
    if isinstance(head, OverLimit):
        unread = empty_mail(["parse-failed"])
        return await asyncio.to_thread(
            _build, org, keys, mailbox, raw, facts, stored, limits, unread, None
        )
    return await asyncio.to_thread(
        _build, org, keys, mailbox, raw, facts, stored, limits, head, reason_for(built)
    )


def official_recipient(mail: ParsedMail, org: Organisation) -> str | None:
    """The first official address among the mail's To and Cc recipients, if any."""
    for address in (*mail.to, *mail.cc):
        if org.department_for_address(address.address) is not None:
            return address.address
    return None
