"""mailboxSettings: `$select` and PATCH with Graph's validation of automaticRepliesSetting."""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator.errors import bad_request

STATUSES = ("disabled", "alwaysEnabled", "scheduled")
AUDIENCES = ("none", "contactsOnly", "all")
PATCHABLE = frozenset(
    {"automaticRepliesSetting", "timeZone", "language", "workingHours", "dateFormat", "timeFormat",
     "delegateMeetingMessageDeliveryOptions"}
)  # fmt: skip
_REPLY_FIELDS = frozenset(
    {"status", "externalAudience", "internalReplyMessage", "externalReplyMessage",
     "scheduledStartDateTime", "scheduledEndDateTime"}
)  # fmt: skip


def _clean(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if not k.startswith("@odata")}


def select_settings(settings: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return dict(settings)
    names = [name.strip() for name in select.split(",") if name.strip()]
    for name in names:
        if name not in settings:
            raise bad_request(
                f"Could not find a property named '{name}' on type "
                "'microsoft.graph.mailboxSettings'.",
                code="RequestBroker--ParseUri",
            )
    return {name: settings[name] for name in names}


def _date_time_zone(value: Any, name: str) -> dict[str, str]:
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise bad_request(f"{name} must be a dateTimeTimeZone.", code="ErrorInvalidParameter")
    return {"dateTime": value["dateTime"], "timeZone": str(value.get("timeZone") or "UTC")}


def _auto_replies(current: dict[str, Any], patch: Any) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise bad_request("automaticRepliesSetting must be an object.")
    patch = _clean(patch)
    unknown = sorted(set(patch) - _REPLY_FIELDS)
    if unknown:
        raise bad_request(f"Unknown automaticRepliesSetting properties {unknown}.")
    merged = {**current, **patch}
    if merged["status"] not in STATUSES:
        raise bad_request(f"Invalid status '{merged['status']}'.", code="ErrorInvalidParameter")
    if merged["externalAudience"] not in AUDIENCES:
        raise bad_request(
            f"Invalid externalAudience '{merged['externalAudience']}'.",
            code="ErrorInvalidParameter",
        )
    for name in ("internalReplyMessage", "externalReplyMessage"):
        if not isinstance(merged[name], str):
            raise bad_request(f"{name} must be a string.", code="ErrorInvalidParameter")
    for name in ("scheduledStartDateTime", "scheduledEndDateTime"):
        merged[name] = _date_time_zone(merged[name], name)
    return merged


def patch_settings(settings: dict[str, Any], body: Any) -> None:
    """Validate the whole PATCH first, then apply it: a bad request changes nothing."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    body = _clean(body)
    unknown = sorted(set(body) - PATCHABLE)
    if unknown:
        raise bad_request(f"The properties {unknown} of mailboxSettings cannot be updated.")
    updated = dict(body)
    if "automaticRepliesSetting" in body:
        updated["automaticRepliesSetting"] = _auto_replies(
            settings["automaticRepliesSetting"], body["automaticRepliesSetting"]
        )
    if "timeZone" in body and not isinstance(body["timeZone"], str):
        raise bad_request("timeZone must be a string.", code="ErrorInvalidParameter")
    settings.update(updated)
