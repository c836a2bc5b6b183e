"""Reading Graph's notification POSTs (pure): the body checks, the batch, each item's validity.

Graph sends `{"value": [...]}`; msgraph-sdk has no model for it, so it is parsed here. The body is
untrusted: a wrong content type, an oversized or malformed body and absurd nesting are refused with
a clear 4xx before anything else happens. Within a valid batch each item is judged alone: a wrong
`clientState` (compared in constant time), an unknown or expired subscription drop that item only.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.metrics import WEBHOOK_ITEMS
from services.ingest.snapshot import MessageSnapshot

JSON_TYPES = ("application/json", "text/json")
# The most JSON containers and values (keys and array elements) in one Graph item: a notification
# with resource data has 4 objects and about 20 values; the margin covers what Graph may add.
CONTAINERS_PER_ITEM = 8
VALUES_PER_ITEM = 64
LifecycleEvent = Literal["reauthorizationRequired", "subscriptionRemoved", "missed"]


class Refused(Exception):
    """The whole body is refused; `status` is the 4xx to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ResourceData(_Lenient):
    id: str = Field(min_length=1, max_length=512)
    etag: str | None = Field(default=None, alias="@odata.etag", max_length=512)


class EncryptedContent(_Lenient):
    """Resource data as Graph sends it: encrypted, for one of our certificates (`rich.py`)."""

    # The body limit bounds `data`; the key and the signature are an RSA block and a SHA-256.
    data: str = Field(min_length=1)
    data_key: str = Field(alias="dataKey", min_length=1, max_length=2048)
    data_signature: str = Field(alias="dataSignature", min_length=1, max_length=128)
    encryption_certificate_id: str = Field(
        alias="encryptionCertificateId", min_length=1, max_length=128
    )


class NotificationItem(_Lenient):
    """One change or lifecycle notification, as far as ingest needs it."""

    subscription_id: str = Field(alias="subscriptionId", min_length=1, max_length=128)
    client_state: str | None = Field(default=None, alias="clientState", max_length=255)
    change_type: Literal["created", "updated", "deleted"] | None = Field(
        default=None, alias="changeType"
    )
    lifecycle_event: LifecycleEvent | None = Field(default=None, alias="lifecycleEvent")
    resource_data: ResourceData | None = Field(default=None, alias="resourceData")
    encrypted_content: EncryptedContent | None = Field(default=None, alias="encryptedContent")

    @property
    def change_key(self) -> str | None:
        """The message's change key from its weak etag `W/"<changeKey>"`."""
        etag = self.resource_data.etag if self.resource_data else None
        if not etag:
            return None
        return etag.removeprefix("W/").strip('"') or None


@dataclass(frozen=True)
class KnownSubscription:
    """What the webhook needs to trust a notification: the secret and the expiry."""

    id: str
    department: str
    mailbox: str
    client_state: str
    expires: datetime
    # The certificate its resource data is encrypted for; None: a subscription without it.
    certificate_id: str | None = None


@dataclass(frozen=True)
class Accepted:
    item: NotificationItem
    subscription: KnownSubscription
    # The message's properties, from the item's resource data once opened (`rich.py`).
    snapshot: MessageSnapshot | None = None


@dataclass(frozen=True)
class RawBatch:
    """A notification body: its items, unjudged, and Graph's validation tokens (if any)."""

    items: list[Any]
    validation_tokens: list[str]


@dataclass(frozen=True)
class Judged:
    accepted: list[Accepted]
    # reason -> count, for the log and `sakspost_webhook_items_total`'s outcome: forged (a wrong
    # clientState, validation token or resource data), unknown_subscription,
    # expired_subscription, malformed.
    dropped: dict[str, int]


def is_json_content_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in JSON_TYPES


def _depth(value: Any, limit: int) -> int:
    """The nesting depth of parsed JSON, counting no further than `limit + 1`."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
    return deepest


def _check_size(body: bytes | bytearray, max_items: int) -> None:
    """Refuse a body whose parsed form could outgrow `max_items` Graph items, before parsing it.

    Parsed JSON can take 20 times its text (`{},` is 3 bytes, an empty dict 64), so 16 MiB of empty
    items would be hundreds of MB. Counting containers and separators is linear and costs no
    memory; a Graph item has at most `CONTAINERS_PER_ITEM` and `VALUES_PER_ITEM` of them.
    """
    containers = body.count(b"{") + body.count(b"[")
    values = body.count(b",") + body.count(b":")
    if containers > CONTAINERS_PER_ITEM * (max_items + 1) or values > VALUES_PER_ITEM * (
        max_items + 1
    ):
        raise Refused(413, f"more than {max_items} notifications in one body")


def parse_batch(body: bytes | bytearray, max_depth: int, max_items: int) -> RawBatch:
    """The raw items and tokens of a notification body, or `Refused` with a 4xx and the reason.

    CPU-bound and linear in the body: the webhooks run it in a worker thread.
    """
    _check_size(body, max_items)
    try:
        payload: Any = json.loads(body)
    except RecursionError:
        raise Refused(400, "JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "body is not valid JSON") from None
    if _depth(payload, max_depth) > max_depth:
        raise Refused(400, f"JSON nested deeper than {max_depth} levels")
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
        raise Refused(400, 'body must be an object with a "value" list')
    items: list[Any] = payload["value"]
    if len(items) > max_items:
        raise Refused(413, f"more than {max_items} notifications in one body")
    tokens = payload.get("validationTokens")
    if tokens is None:
        tokens = []
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise Refused(400, '"validationTokens" must be a list of strings')
    return RawBatch(items, tokens)


def _state_matches(expected: str, given: str | None) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def subscription_ids(raw_items: list[Any]) -> set[str]:
    """The subscription ids a batch names (what the webhook must know to judge it)."""
    return {
        item["subscriptionId"]
        for item in raw_items
        if isinstance(item, dict) and isinstance(item.get("subscriptionId"), str)
    }


def judge(raw_items: list[Any], known: Mapping[str, KnownSubscription], now: datetime) -> Judged:
    """Keep the items that come from a live subscription of ours with the right clientState.

    Linear in the batch, and cheap for items that name no subscription of ours.
    """
    accepted: list[Accepted] = []
    dropped: dict[str, int] = {}

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    for raw in raw_items:
        # The subscription first, by a dictionary look-up: an item that names none of ours costs
        # no validation, so a body of junk items costs little more than reading it.
        subscription_id = raw.get("subscriptionId") if isinstance(raw, dict) else None
        if not isinstance(subscription_id, str):
            drop("malformed")
            continue
        subscription = known.get(subscription_id)
        if subscription is None:
            drop("unknown_subscription")
            continue
        try:
            item = NotificationItem.model_validate(raw)
        except ValidationError:
            drop("malformed")
            continue
        if not _state_matches(subscription.client_state, item.client_state):
            drop("forged")
        elif subscription.expires <= now:
            drop("expired_subscription")
        elif item.lifecycle_event is None and (
            item.change_type is None or item.resource_data is None
        ):
            drop("malformed")
        else:
            accepted.append(Accepted(item, subscription))
    return Judged(accepted, dropped)


def count_judged(judged: Judged) -> None:
    """Each item of a batch in `sakspost_webhook_items_total`, by its outcome."""
    WEBHOOK_ITEMS.labels("accepted").inc(len(judged.accepted))
    for reason, count in judged.dropped.items():
        WEBHOOK_ITEMS.labels(reason).inc(count)
