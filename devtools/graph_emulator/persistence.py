"""The emulator's state on disk (--data-dir): MIME files by SHA-256 plus one JSON snapshot.

MIME bytes are written once under their digest; the snapshot of everything else is replaced
atomically, so a crash leaves the previous snapshot intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import structlog

from devtools.graph_emulator.clock import graph_datetime, parse_graph_datetime
from devtools.graph_emulator.compose import draft_from_state, draft_to_state
from devtools.graph_emulator.mime_fields import extract_fields
from devtools.graph_emulator.resource_data import parse_certificate
from devtools.graph_emulator.store import MailStore, StoredMessage, Tombstone
from devtools.graph_emulator.subscriptions import Subscription, SubscriptionRegistry

log = structlog.get_logger(__name__)
SNAPSHOT = "state.json"
FORMAT_VERSION = 1


def _mime_path(directory: Path, raw: bytes) -> tuple[str, Path]:
    digest = hashlib.sha256(raw).hexdigest()
    return digest, directory / "mime" / f"{digest}.eml"


def _message_state(directory: Path, message: StoredMessage) -> dict[str, Any]:
    digest, path = _mime_path(directory, message.mime)
    if not path.exists():
        path.write_bytes(message.mime)
    return {
        "id": message.id, "folder": message.folder, "sha256": digest,
        "received": graph_datetime(message.received), "modified": graph_datetime(message.modified),
        "changeKey": message.change_key, "seq": message.seq, "enteredSeq": message.entered_seq,
        "categories": message.categories, "flag": message.flag, "isRead": message.is_read,
        "importance": message.importance, "inference": message.inference,
        "draft": None if message.draft is None else draft_to_state(message.draft),
    }  # fmt: skip


def save(directory: Path, store: MailStore, registry: SubscriptionRegistry) -> None:
    (directory / "mime").mkdir(parents=True, exist_ok=True)
    state = {
        "version": FORMAT_VERSION,
        "mailboxes": {
            address: {
                "seq": mailbox.seq,
                "settings": mailbox.settings,
                "tombstones": [[t.id, t.folder, t.seq] for t in mailbox.tombstones],
                "messages": [_message_state(directory, m) for m in mailbox.messages.values()],
            }
            for address, mailbox in store.mailboxes.items()
        },
        "subscriptions": [
            {**s.as_json(), "mailbox": s.mailbox.address, "folder": s.folder, "select": s.select}
            for s in registry.subscriptions.values()
        ],
    }
    temporary = directory / f".{SNAPSHOT}.tmp"
    temporary.write_text(json.dumps(state), encoding="utf-8")
    os.replace(temporary, directory / SNAPSHOT)


def _restore_message(directory: Path, item: dict[str, Any]) -> StoredMessage | None:
    path = directory / "mime" / f"{item['sha256']}.eml"
    try:
        raw = path.read_bytes()
    except OSError:
        log.warning("mime_missing", message_id=item["id"])
        return None
    return StoredMessage(
        id=item["id"], folder=item["folder"], mime=raw, fields=extract_fields(raw),
        received=parse_graph_datetime(item["received"]),
        modified=parse_graph_datetime(item["modified"]), change_key=item["changeKey"],
        seq=item["seq"], entered_seq=item["enteredSeq"], categories=item["categories"],
        flag=item["flag"], is_read=item["isRead"], importance=item["importance"],
        inference=item["inference"],
        draft=None if item["draft"] is None else draft_from_state(item["draft"]),
    )  # fmt: skip


def _resource_data(item: dict[str, Any]) -> dict[str, Any]:
    """A saved subscription's resource-data settings (none for one saved without them)."""
    if not item.get("includeResourceData"):
        return {}
    return {
        "encryption_certificate": parse_certificate(item["encryptionCertificate"]),
        "encryption_certificate_id": item["encryptionCertificateId"],
        "select": item.get("select"),
    }


def load(directory: Path, store: MailStore, registry: SubscriptionRegistry) -> bool:
    """Restore a snapshot into the store; False when there is none (a fresh emulator)."""
    try:
        state = json.loads((directory / SNAPSHOT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    for address, saved in state["mailboxes"].items():
        mailbox = store.mailbox(address)
        if mailbox is None:
            log.warning("mailbox_no_longer_configured", mailbox=address)
            continue
        mailbox.seq = saved["seq"]
        mailbox.settings = saved["settings"]
        mailbox.tombstones = [Tombstone(i, f, s) for i, f, s in saved["tombstones"]]
        for item in saved["messages"]:
            message = _restore_message(directory, item)
            if message is not None:
                mailbox.messages[message.id] = message
    for item in state["subscriptions"]:
        mailbox = store.mailbox(item["mailbox"])
        if mailbox is None:
            continue
        registry.subscriptions[item["id"]] = Subscription(
            id=item["id"], resource=item["resource"], mailbox=mailbox, folder=item["folder"],
            change_types=frozenset(item["changeType"].split(",")),
            notification_url=item["notificationUrl"],
            lifecycle_url=item["lifecycleNotificationUrl"], client_state=item["clientState"],
            expires=parse_graph_datetime(item["expirationDateTime"]),
            application_id=item["applicationId"],
            **_resource_data(item),
        )  # fmt: skip
    return True
