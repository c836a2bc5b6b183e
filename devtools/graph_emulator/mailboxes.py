"""The emulator's mailboxes from the organisation file: shared, personal and the no-reply box."""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator.store import Mailbox, user_id_for
from services.common.orgconfig import Organisation


def default_settings(time_zone: str) -> dict[str, Any]:
    """A fresh mailbox's mailboxSettings, as Exchange shows them."""
    return {
        "archiveFolder": "",
        "timeZone": time_zone,
        "dateFormat": "dd.MM.yyyy",
        "timeFormat": "HH:mm",
        "userPurpose": "user",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "language": {"locale": "nn-NO", "displayName": "Norwegian Nynorsk (Norway)"},
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {
                "dateTime": "2000-01-01T00:00:00.0000000",
                "timeZone": "UTC",
            },
            "scheduledEndDateTime": {"dateTime": "2000-01-02T00:00:00.0000000", "timeZone": "UTC"},
        },
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "15:30:00.0000000",
            "timeZone": {"name": time_zone},
        },
    }


def mailboxes_for(org: Organisation) -> list[Mailbox]:
    found: list[Mailbox] = []
    for department in org.departments.values():
        address = department.mailbox.lower()
        aliases = tuple(a for a in department.addresses if a != address)
        found.append(_mailbox(address, department.name, "shared", aliases, org.timezone))
    for member in org.staff:
        found.append(_mailbox(member.email, member.name, "personal", (), org.timezone))
    found.append(
        _mailbox(org.no_reply_address, f"{org.name} (no reply)", "noreply", (), org.timezone)
    )
    return found


def _mailbox(
    address: str, name: str, kind: Any, aliases: tuple[str, ...], time_zone: str
) -> Mailbox:
    return Mailbox(
        address=address,
        display_name=name,
        kind=kind,
        aliases=aliases,
        user_id=user_id_for(address),
        settings=default_settings(time_zone),
    )
