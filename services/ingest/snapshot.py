"""What ingest knows of a message without its MIME (pure): read by `$select`, or carried
decrypted in a notification with resource data.

Outlook's resource data names properties in Pascal case (`ChangeKey`, `Flag.FlagStatus`) where a
`$select` read answers in camel case; both are read alike, so the events are the same whichever
way a message's properties arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

# What ingest reads of a message: the `$select` of a read and of a subscription's resource data.
MESSAGE_FIELDS = [
    "id",
    "changeKey",
    "internetMessageId",
    "conversationId",
    "receivedDateTime",
    "parentFolderId",
    "categories",
    "flag",
    "isDraft",
]


@dataclass(frozen=True)
class MessageSnapshot:
    id: str
    change_key: str | None
    internet_message_id: str | None
    conversation_id: str | None
    received_at: datetime | None
    parent_folder_id: str | None
    categories: list[str]
    flag_status: str | None
    is_draft: bool


class NotTheMessage(ValueError):
    """Resource data that is not the notified message's properties (malformed or substituted)."""


class _Lower(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Flag(_Lower):
    flagstatus: str | None = None


class _Resource(_Lower):
    # The field names are the properties' names in lower case (`_lower_keys`).
    id: str
    changekey: str | None = None
    internetmessageid: str | None = None
    conversationid: str | None = None
    receiveddatetime: datetime | None = None
    parentfolderid: str | None = None
    categories: list[str] | None = None
    flag: _Flag | None = None
    isdraft: bool | None = None


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


def _camel(value: str | None) -> str | None:
    """An enum value as Graph's v1.0 spells it (`NotFlagged` from Outlook: `notFlagged`)."""
    return value[:1].lower() + value[1:] if value else value


def snapshot_of_resource(resource: Any, message_id: str) -> MessageSnapshot:
    """The snapshot in a notification's decrypted resource data, which must be the properties of
    `message_id` (the notification's own resource): anything else is `NotTheMessage`."""
    try:
        found = _Resource.model_validate(_lower_keys(resource))
    except ValidationError:
        raise NotTheMessage("resource data is not a message's properties") from None
    if found.id != message_id:
        raise NotTheMessage("resource data of another message")
    return MessageSnapshot(
        id=found.id,
        change_key=found.changekey,
        internet_message_id=found.internetmessageid,
        conversation_id=found.conversationid,
        received_at=found.receiveddatetime,
        parent_folder_id=found.parentfolderid,
        categories=list(found.categories or []),
        flag_status=_camel(found.flag.flagstatus) if found.flag is not None else None,
        is_draft=bool(found.isdraft),
    )
