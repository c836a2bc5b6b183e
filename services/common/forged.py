"""The alert about a mail dressed up as Sakspost's own (a forward or a notice without a valid seal).

Ingest raises it for received mail, the classifier for a shared mailbox's sent mail: each the first
service to judge that mail. It names the case and what was claimed, never the sender or content.
"""

from __future__ import annotations

from datetime import datetime

from schemas.events import Alert
from schemas.vocab import AlertKind
from services.common.publisher import Channel

FORGED_MARKER_CHANNEL = Channel(
    "sakspost.alert.forged_marker.{department}",
    Alert,
    "A mail claimed to be Sakspost's own forward or notice without a valid seal",
)


def forged_marker_alert(case_id: str, department: str, now: datetime) -> Alert:
    return Alert.about_case(
        AlertKind.FORGED_MARKER,
        case_id,
        department,
        now,
        "Ei e-post gav seg ut for å vere Sakspost si eiga vidaresending eller varsel, "
        "utan gyldig segl. Ho er handsama som avsendaren si eiga e-post.",
        "unsealed_marker",
    )
