"""Graph JSON for messages, folders and users, with `$select` as Graph applies it."""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator.clock import graph_datetime
from devtools.graph_emulator.compose import RECIPIENT_FIELDS
from devtools.graph_emulator.errors import bad_request
from devtools.graph_emulator.mime_fields import Address, conversation_id
from devtools.graph_emulator.store import FOLDER_NAMES, FolderKey, Mailbox, StoredMessage, folder_id

MESSAGE_PROPERTIES = frozenset(
    {
        "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
        "receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject",
        "bodyPreview", "importance", "parentFolderId", "conversationId", "conversationIndex",
        "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink",
        "inferenceClassification", "body", "uniqueBody", "sender", "from", "toRecipients",
        "ccRecipients", "bccRecipients", "replyTo", "flag", "internetMessageHeaders",
    }
)  # fmt: skip
# Graph returns these only when asked for by $select.
_SELECT_ONLY = frozenset({"internetMessageHeaders", "uniqueBody"})


def parse_select(value: str | None) -> list[str] | None:
    """The `$select` list, 400 for a property messages do not have (as Graph answers)."""
    if not value:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    for name in names:
        if name not in MESSAGE_PROPERTIES:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'microsoft.graph.message'.",
                code="RequestBroker--ParseUri",
            )
    return names


def _recipients(addresses: list[Address] | tuple[Address, ...]) -> list[dict[str, Any]]:
    return [a.as_graph() for a in addresses]


def _message_properties(mailbox: Mailbox, message: StoredMessage) -> dict[str, Any]:
    fields = message.fields
    draft = message.draft
    sender = fields.sender.as_graph() if fields.sender else None
    recipients: dict[str, list[dict[str, Any]]] = {
        "toRecipients": _recipients(fields.to),
        "ccRecipients": _recipients(fields.cc),
        "bccRecipients": [],
        "replyTo": _recipients(fields.reply_to),
    }
    if draft is not None:
        recipients = {kind: _recipients(draft.addresses(kind)) for kind in RECIPIENT_FIELDS}
    body = {"contentType": fields.body_type, "content": fields.body}
    sent = fields.sent or message.received
    return {
        "id": message.id,
        "createdDateTime": graph_datetime(message.received),
        "lastModifiedDateTime": graph_datetime(message.modified),
        "changeKey": message.change_key,
        "categories": list(message.categories),
        "receivedDateTime": graph_datetime(message.received),
        "sentDateTime": graph_datetime(sent),
        "hasAttachments": fields.has_attachments,
        "internetMessageId": fields.internet_message_id,
        "subject": fields.subject,
        "bodyPreview": fields.preview,
        "importance": message.importance,
        "parentFolderId": folder_id(mailbox.address, message.folder),
        "conversationId": conversation_id(fields.thread_root or message.id),
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": message.is_read,
        "isDraft": draft is not None,
        "webLink": f"https://outlook.office365.com/owa/?ItemID={message.id}&exvsurl=1",
        "inferenceClassification": message.inference,
        "body": body,
        "uniqueBody": body,
        "sender": sender,
        "from": sender,
        **recipients,
        "flag": dict(message.flag),
        "internetMessageHeaders": [{"name": k, "value": v} for k, v in fields.headers],
    }


def message_json(
    mailbox: Mailbox, message: StoredMessage, select: list[str] | None
) -> dict[str, Any]:
    properties = _message_properties(mailbox, message)
    if select is None:
        shown = {k: v for k, v in properties.items() if k not in _SELECT_ONLY}
    else:
        shown = {"id": message.id, **{k: properties[k] for k in select}}
    return {"@odata.etag": message.etag, **shown}


def folder_json(mailbox: Mailbox, key: FolderKey) -> dict[str, Any]:
    messages = mailbox.in_folder(key)
    return {
        "id": folder_id(mailbox.address, key),
        "displayName": FOLDER_NAMES[key],
        "parentFolderId": folder_id(mailbox.address, "inbox").replace("AQMk", "AQMr", 1),
        "childFolderCount": 0,
        "unreadItemCount": sum(1 for m in messages if not m.is_read),
        "totalItemCount": len(messages),
        "sizeInBytes": sum(len(m.mime) for m in messages),
        "isHidden": False,
    }


def user_json(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "id": mailbox.user_id,
        "displayName": mailbox.display_name,
        "mail": mailbox.address,
        "userPrincipalName": mailbox.address,
        "proxyAddresses": [f"SMTP:{mailbox.address}"] + [f"smtp:{a}" for a in mailbox.aliases],
    }
