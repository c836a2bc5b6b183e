"""What a message's new state means (pure): `changed`, `deleted`, or nothing (R13).

Ingest remembers what it last saw of each message (`MessageRecord`); a new look at the message is
compared with it:
- into Deleted Items, from anywhere else: `deleted` (moved_to_deleted_items);
- gone from the mailbox: `deleted` (removed), once;
- flag or categories changed, by someone other than our own write-back: `changed`;
- a move between other folders, or back out of Deleted Items: nothing, only the record follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas.events import MailChanged, MailDeleted, MailEventBase, MailReceived
from schemas.identity import make_event_id
from schemas.vocab import DeletionKind
from services.common.categories import same_categories
from services.common.flags import parse_flag_status
from services.ingest.snapshot import MessageSnapshot
from services.ingest.state import MessageRecord

DELETED_ITEMS = "deleteditems"
# Our own outgoing mail and drafts are not received mail.
NOT_RECEIVED_FOLDERS = frozenset({"sentitems", "drafts"})


@dataclass(frozen=True)
class Transition:
    record: MessageRecord
    events: tuple[MailEventBase, ...]


def is_received_mail(snapshot: MessageSnapshot, folder: str) -> bool:
    """Whether a message seen for the first time is mail that reached the mailbox."""
    return not snapshot.is_draft and folder not in NOT_RECEIVED_FOLDERS


def first_record(event: MailReceived, snapshot: MessageSnapshot) -> MessageRecord:
    """The record of a mail as it was received: in a receiving folder, unflagged as Graph says."""
    return MessageRecord(
        case_id=event.case_id,
        department=event.department,
        mailbox=event.mailbox,
        folder="other",
        categories=snapshot.categories,
        flag_status=snapshot.flag_status,
        change_key=snapshot.change_key,
    )


def seen_again(
    record: MessageRecord,
    snapshot: MessageSnapshot,
    folder: str,
    graph_id: str,
    our_change_key: str | None,
    now: datetime,
    *,
    our_categories: Sequence[str] | None = None,
    our_flag: str | None = None,
) -> Transition:
    """The events of a message that is still in the mailbox, and its new record.

    `our_categories` and `our_flag` are what the router's latest write put on the message, when
    known: ingest skips that write's echo without reading it, so `record` may be older than it.
    """
    events: list[MailEventBase] = []
    version = snapshot.change_key or ""
    if folder == DELETED_ITEMS and record.folder != DELETED_ITEMS:
        how = DeletionKind.MOVED_TO_DELETED_ITEMS
        events.append(
            MailDeleted(
                event_id=make_event_id("deleted", record.case_id, how.value, version),
                case_id=record.case_id,
                occurred_at=now,
                department=record.department,
                mailbox=record.mailbox,
                graph_message_id=graph_id,
                how=how,
            )
        )
    human_change = not (
        same_categories(record.categories, snapshot.categories)
        and record.flag_status == snapshot.flag_status
    )
    # A person who puts back what ingest last read (say the `Tildelt:` our write replaced) leaves
    # the record unchanged, but not what we wrote: that is a change too.
    if our_categories is not None and not human_change:
        human_change = not (
            same_categories(list(our_categories), snapshot.categories)
            and our_flag == snapshot.flag_status
        )
    if human_change and (snapshot.change_key is None or snapshot.change_key != our_change_key):
        events.append(
            MailChanged(
                event_id=make_event_id("changed", record.case_id, version),
                case_id=record.case_id,
                occurred_at=now,
                department=record.department,
                mailbox=record.mailbox,
                graph_message_id=graph_id,
                change_key=snapshot.change_key,
                categories=snapshot.categories,
                flag_status=parse_flag_status(snapshot.flag_status),
            )
        )
    updated = record.model_copy(
        update={
            "folder": folder,
            "categories": snapshot.categories,
            "flag_status": snapshot.flag_status,
            "change_key": snapshot.change_key,
            "removed": False,
        }
    )
    return Transition(updated, tuple(events))


def gone(record: MessageRecord, graph_id: str, now: datetime) -> Transition:
    """A message no longer in the mailbox: `deleted` (removed), once (R13)."""
    if record.removed:
        return Transition(record, ())
    how = DeletionKind.REMOVED
    event = MailDeleted(
        event_id=make_event_id("deleted", record.case_id, how.value),
        case_id=record.case_id,
        occurred_at=now,
        department=record.department,
        mailbox=record.mailbox,
        graph_message_id=graph_id,
        how=how,
    )
    return Transition(record.model_copy(update={"removed": True}), (event,))
