"""A shared mailbox's sent mail as a `sent` event (pure), for the outgoing checks (R14, R2, R3).

Sent mail of a shared mailbox is official mail, so it enters the stream like received mail: its
MIME in the Object Store and a `sent` event, which names neither recipients nor subject. Sakspost's
own mail (notices, forwards, recognised by their seal) never becomes one: no check may judge it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.events import MailSent
from schemas.identity import make_case_id, make_event_id
from services.common.mail import ParsedMail, head_of, parse_mail
from services.common.mimestore import mime_sha256
from services.common.orgconfig import Organisation
from services.common.outgoing import Marker, sakspost_marker
from services.common.received import StoredMime
from services.common.seal import SigningKeys
from services.ingest.snapshot import MessageSnapshot

SENT_ITEMS = "sentitems"


def is_sent_mail(snapshot: MessageSnapshot, folder: str) -> bool:
    """A message seen for the first time that left the mailbox (not a draft)."""
    return folder == SENT_ITEMS and not snapshot.is_draft


def build_sent(
    org: Organisation,
    keys: SigningKeys,
    department: str,
    mailbox: str,
    raw: bytes,
    snapshot: MessageSnapshot,
    stored: StoredMime | None = None,
) -> MailSent | None:
    """The `sent` event of a mail in `mailbox`'s Sent Items; None for Sakspost's own mail (a
    forged marker makes a `sent` event like any mail: the classifier checks and alerts it).
    Ingest runs this in a worker process (issue #16); only the header block is parsed, since
    only header fields go into the event (a mail over the parse cap comes as its header block)."""
    if sakspost_marker(raw, org, keys, snapshot.received_at) is Marker.SEALED:
        return None
    kept = stored or StoredMime(mime_sha256(raw), len(raw))
    return sent_event(department, mailbox, snapshot, parse_mail(head_of(raw)), kept)


def sent_event(
    department: str,
    mailbox: str,
    snapshot: MessageSnapshot,
    mail: ParsedMail,
    stored: StoredMime,
) -> MailSent:
    """The `sent` event from what `mail` (the parsed headers) and Graph say."""
    case_id = make_case_id(mailbox, mail.message_id, snapshot.id)
    sent_at = snapshot.received_at or mail.date or datetime.now(UTC)
    return MailSent(
        event_id=make_event_id("sent", case_id),
        case_id=case_id,
        occurred_at=sent_at,
        department=department,
        mailbox=mailbox.strip().lower(),
        internet_message_id=mail.message_id,
        graph_message_id=snapshot.id,
        conversation_id=snapshot.conversation_id,
        in_reply_to=mail.in_reply_to,
        sent_at=sent_at,
        mime_sha256=stored.sha256,
        mime_size=stored.size,
    )
