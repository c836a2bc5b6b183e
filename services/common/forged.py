"""The alert about a mail dressed up as Sakspost's own (a forward or a notice without a valid seal).

Ingest raises it for received mail, the classifier for a shared mailbox's sent mail: each the first
service to judge that mail. It names the case and what was claimed, never the sender or content.
"""

from __future__ import annotations

from datetime import datetime

from schemas.events import Alert
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, Severity
from services.common.publisher import Channel

FORGED_MARKER_CHANNEL = Channel(
    "sakspost.alert.forged_marker.{department}",
    Alert,
    "A mail claimed to be Sakspost's own forward or notice without a valid seal",
)


def forged_marker_alert(case_id: str, department: str, now: datetime) -> Alert:
    return Alert(
        event_id=make_event_id("alert", case_id, AlertKind.FORGED_MARKER.value),
        case_id=case_id,
        occurred_at=now,
        department=department,
        kind=AlertKind.FORGED_MARKER,
        severity=Severity.WARNING,
        summary="Ei e-post gav seg ut for å vere Sakspost si eiga vidaresending eller varsel, "
        "utan gyldig segl. Ho er handsama som avsendaren si eiga e-post.",
        reason="unsealed_marker",
        case_ids=[case_id],
    )
