"""PATCH of a message: the properties Graph lets a client update, validated as Graph does."""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator.compose import apply_draft_fields
from devtools.graph_emulator.errors import GraphError, bad_request
from devtools.graph_emulator.store import StoredMessage

FLAG_STATUSES = ("notFlagged", "flagged", "complete")
_ALWAYS = frozenset(
    {"categories", "flag", "isRead", "importance", "inferenceClassification",
     "isDeliveryReceiptRequested", "isReadReceiptRequested"}
)  # fmt: skip
_DRAFT_ONLY = frozenset(
    {"subject", "body", "toRecipients", "ccRecipients", "bccRecipients", "replyTo"}
)


def _without_annotations(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if not k.startswith("@odata")}


def _date_time_zone(value: Any, name: str) -> dict[str, str]:
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise bad_request(f"Property {name} must be a dateTimeTimeZone.")
    return {"dateTime": value["dateTime"], "timeZone": str(value.get("timeZone") or "UTC")}


def _flag(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("Property flag must be a followupFlag.")
    value = _without_annotations(value)
    status = value.get("flagStatus", "flagged")
    if status not in FLAG_STATUSES:
        raise bad_request(f"Invalid flagStatus '{status}'.")
    if "dueDateTime" in value and "startDateTime" not in value:
        raise bad_request(
            "The StartDate property must be set when DueDate is set.", code="ErrorInvalidArgument"
        )
    flag: dict[str, Any] = {"flagStatus": status}
    for name in ("startDateTime", "dueDateTime", "completedDateTime"):
        if value.get(name) is not None:
            flag[name] = _date_time_zone(value[name], name)
    return flag


PRECONDITION_FAILED = 412


def _opaque_tag(tag: str) -> str:
    # Graph's message etags are weak (`W/"<changeKey>"`); the change key is what must match.
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def check_if_match(message: StoredMessage, if_match: str | None) -> None:
    """Optimistic concurrency as Exchange does it: an update conditional on a version of the item
    (`If-Match` with its `@odata.etag`) that is no longer current is refused with 412
    `ErrorIrresolvableConflict`, and nothing is changed. Without the header the update applies."""
    if if_match is None:
        return
    wanted = {_opaque_tag(tag) for tag in if_match.split(",") if tag.strip()}
    if "*" in wanted or _opaque_tag(message.etag) in wanted:
        return
    raise GraphError(
        PRECONDITION_FAILED,
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed in "
        "the request does not match the current change key for the item.",
    )


def apply_patch(message: StoredMessage, body: Any) -> bool:
    """Apply a PATCH body; returns True when the draft's MIME must be rebuilt. 400 on bad input."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    body = _without_annotations(body)
    allowed = _ALWAYS | (_DRAFT_ONLY if message.draft is not None else frozenset())
    for name in body:
        if name not in allowed:
            raise bad_request(
                f"The property '{name}' cannot be updated on this message.",
                code="ErrorInvalidPropertyUpdateSentMessage",
            )
    if "categories" in body:
        categories = body["categories"]
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise bad_request("Property categories must be a collection of strings.")
        message.categories = list(dict.fromkeys(categories))
    if "flag" in body:
        message.flag = _flag(body["flag"])
    if "isRead" in body:
        if not isinstance(body["isRead"], bool):
            raise bad_request("Property isRead must be a boolean.")
        message.is_read = body["isRead"]
    if "importance" in body:
        if body["importance"] not in ("low", "normal", "high"):
            raise bad_request("Property importance must be low, normal or high.")
        message.importance = body["importance"]
    if "inferenceClassification" in body:
        if body["inferenceClassification"] not in ("focused", "other"):
            raise bad_request("Property inferenceClassification must be focused or other.")
        message.inference = body["inferenceClassification"]
    if message.draft is not None and _DRAFT_ONLY & body.keys():
        apply_draft_fields(message.draft, body)
        return True
    return False
