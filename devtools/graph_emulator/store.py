"""Mailboxes and their messages, in memory, with a change sequence for delta and notifications.

Every change gets the mailbox's next sequence number: delta tokens are just sequence marks, and a
message's `changeKey` changes with it. Ids are immutable: a move keeps the id, as with
`Prefer: IdType="ImmutableId"`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from devtools.graph_emulator.clock import Clock
from devtools.graph_emulator.compose import Draft
from devtools.graph_emulator.mime_fields import MessageFields, extract_fields

FolderKey = Literal["inbox", "drafts", "sentitems", "deleteditems"]
ChangeType = Literal["created", "updated", "deleted"]
MailboxKind = Literal["shared", "personal", "noreply"]

FOLDER_NAMES: dict[FolderKey, str] = {
    "inbox": "Inbox",
    "drafts": "Drafts",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
}


def _token(*parts: str, prefix: str, size: int = 30) -> str:
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).digest()[:size]
    return prefix + base64.urlsafe_b64encode(digest).decode("ascii")


def folder_id(mailbox: str, key: FolderKey) -> str:
    return _token(mailbox, key, prefix="AQMk")


def new_message_id() -> str:
    return "AAkALg" + base64.urlsafe_b64encode(secrets.token_bytes(33)).decode("ascii")


def new_change_key() -> str:
    return "CQAAAB" + base64.urlsafe_b64encode(secrets.token_bytes(12)).decode("ascii")


@dataclass
class StoredMessage:
    id: str
    folder: FolderKey
    mime: bytes
    fields: MessageFields
    received: datetime
    modified: datetime
    change_key: str
    seq: int
    entered_seq: int
    categories: list[str] = field(default_factory=list)
    flag: dict[str, Any] = field(default_factory=lambda: {"flagStatus": "notFlagged"})
    is_read: bool = False
    importance: str = "normal"
    inference: str = "focused"
    draft: Draft | None = None

    @property
    def etag(self) -> str:
        return f'W/"{self.change_key}"'


@dataclass(frozen=True)
class Tombstone:
    id: str
    folder: FolderKey
    seq: int


@dataclass
class Mailbox:
    address: str
    display_name: str
    kind: MailboxKind
    aliases: tuple[str, ...]
    user_id: str
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    tombstones: list[Tombstone] = field(default_factory=list)
    seq: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def folder_of(self, reference: str) -> FolderKey | None:
        """A folder by well-known name (any case) or by id."""
        lowered = reference.lower()
        for key in FOLDER_NAMES:
            if lowered == key or reference == folder_id(self.address, key):
                return key
        return None

    def in_folder(self, key: FolderKey) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.folder == key]


@dataclass(frozen=True)
class Change:
    mailbox: Mailbox
    folder: FolderKey
    message_id: str
    change_type: ChangeType
    etag: str


Listener = Callable[[Change], None]


class MailStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.mailboxes: dict[str, Mailbox] = {}
        self._lookup: dict[str, Mailbox] = {}
        self._listeners: list[Listener] = []
        self.on_mutation: Callable[[], None] = lambda: None

    def add_mailbox(self, mailbox: Mailbox) -> None:
        self.mailboxes[mailbox.address] = mailbox
        for key in (mailbox.address, mailbox.user_id, *mailbox.aliases):
            self._lookup[key.lower()] = mailbox

    def mailbox(self, user: str) -> Mailbox | None:
        """A mailbox by address, alias or user id, case-insensitively."""
        return self._lookup.get(user.strip().lower())

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self, mailbox: Mailbox, message: StoredMessage, change: ChangeType) -> None:
        self.on_mutation()
        event = Change(mailbox, message.folder, message.id, change, message.etag)
        for listener in self._listeners:
            listener(event)

    def _next_seq(self, mailbox: Mailbox) -> int:
        mailbox.seq += 1
        return mailbox.seq

    def add(
        self,
        mailbox: Mailbox,
        raw: bytes,
        folder: FolderKey,
        *,
        is_read: bool = False,
        draft: Draft | None = None,
    ) -> StoredMessage:
        """Store MIME bytes exactly as given, as a new message in a folder."""
        now = self.clock.now()
        seq = self._next_seq(mailbox)
        fields = extract_fields(raw)
        message = StoredMessage(
            id=new_message_id(),
            folder=folder,
            mime=raw,
            fields=fields,
            received=now,
            modified=now,
            change_key=new_change_key(),
            seq=seq,
            entered_seq=seq,
            is_read=is_read,
            importance=fields.importance,
            draft=draft,
        )
        mailbox.messages[message.id] = message
        self._emit(mailbox, message, "created")
        return message

    def touch(self, mailbox: Mailbox, message: StoredMessage) -> None:
        """Record an update: new changeKey and etag, a delta entry and an `updated` notification."""
        message.seq = self._next_seq(mailbox)
        message.change_key = new_change_key()
        message.modified = self.clock.now()
        self._emit(mailbox, message, "updated")

    def replace_mime(self, mailbox: Mailbox, message: StoredMessage, raw: bytes) -> None:
        message.mime = raw
        message.fields = extract_fields(raw)
        self.touch(mailbox, message)

    def _leave_folder(self, mailbox: Mailbox, message: StoredMessage) -> None:
        mailbox.tombstones.append(Tombstone(message.id, message.folder, self._next_seq(mailbox)))
        self._emit(mailbox, message, "deleted")

    def move(self, mailbox: Mailbox, message: StoredMessage, destination: FolderKey) -> None:
        if destination == message.folder:
            return
        self._leave_folder(mailbox, message)
        message.folder = destination
        message.seq = message.entered_seq = self._next_seq(mailbox)
        message.change_key = new_change_key()
        message.modified = self.clock.now()
        self._emit(mailbox, message, "created")

    def remove(self, mailbox: Mailbox, message: StoredMessage) -> None:
        """Hard delete: gone from the mailbox, seen by delta as `@removed`."""
        del mailbox.messages[message.id]
        self._leave_folder(mailbox, message)


def user_id_for(address: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{address.lower()}"))
