"""The alert about a stored Graph link that pointed away from Graph (pure).

Delta links and cursors live in KV; one pointing to another host would have received the app's
bearer token. The gateway never requests it (services/ingest/gateway.py); this alert tells
operations, through the department whose mailbox it was (a personal mailbox: the common
department), that someone could write into ingest's KV or that Graph answered with a foreign link.
"""

from __future__ import annotations

from datetime import datetime

from schemas.events import Alert
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, Severity
from services.common.orgconfig import Organisation
from services.common.publisher import Channel

GRAPH_LINK_CHANNEL = Channel(
    "sakspost.alert.graph_link_refused.{department}",
    Alert,
    "A stored Graph link pointed away from Graph; it was discarded and never requested",
)


def refused_link_alert(org: Organisation, mailbox: str, now: datetime) -> Alert:
    department = org.department_for_address(mailbox) or org.common_department
    return Alert(
        event_id=make_event_id(
            "alert", "", AlertKind.GRAPH_LINK_REFUSED.value, mailbox, now.isoformat()
        ),
        case_id=None,
        occurred_at=now,
        department=department,
        kind=AlertKind.GRAPH_LINK_REFUSED,
        severity=Severity.CRITICAL,
        summary="Ei lagra Graph-lenkje peika til ein annan vert enn Microsoft Graph. Ho vart "
        "forkasta utan å bli opna, og lesinga byrja på nytt. Sjå etter kven som kan skrive i "
        "ingest sin KV-bøtte.",
        reason="foreign_host",
    )
