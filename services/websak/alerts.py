"""The `archive_failed` alerts websak raises to a department's supervisors (R10).

Summaries hold no personal data (no subject, no sender): the case id leads a supervisor to the mail.
Event ids are deterministic, so a repeated attempt to raise the same alert is dropped by JetStream.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.events import Alert
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, Severity
from services.websak.receipts import Receipt

MAX_REASON_LENGTH = 500
RETRY_HINT = "Prøv på nytt når årsaka er retta: sakspost cases retry-archive {case_id}"


def refusal_alert(receipt: Receipt, reason: str, now: datetime) -> Alert:
    """WebSak refused the mail (4xx) or it cannot be archived as configured: at once."""
    case_id = receipt.request.case_id
    return Alert(
        event_id=make_event_id(
            "alert", case_id, "archive_failed", "refused", str(receipt.refusals)
        ),
        case_id=case_id,
        occurred_at=now,
        department=receipt.request.department,
        kind=AlertKind.ARCHIVE_FAILED,
        severity=Severity.CRITICAL,
        summary="Ei arkivverdig e-post vart avvist av arkivet og er ikkje arkivert. "
        + RETRY_HINT.format(case_id=case_id),
        reason=reason[:MAX_REASON_LENGTH],
    )


def overdue_alert(receipt: Receipt, reason: str, waited: timedelta, now: datetime) -> Alert:
    """The archive has failed the mail (down, slow, errors) for longer than allowed: once."""
    case_id = receipt.request.case_id
    minutes = max(1, round(waited.total_seconds() / 60))
    return Alert(
        event_id=make_event_id("alert", case_id, "archive_failed", "overdue"),
        case_id=case_id,
        occurred_at=now,
        department=receipt.request.department,
        kind=AlertKind.ARCHIVE_FAILED,
        severity=Severity.WARNING,
        summary=f"Ei arkivverdig e-post er ikkje arkivert etter {minutes} min; "
        "Sakspost prøver vidare til arkivet svarar.",
        reason=reason[:MAX_REASON_LENGTH],
    )


def unarchivable_alert(
    case_id: str, department: str, routed_event_id: str, reason: str, now: datetime
) -> Alert:
    """A `routed` event that cannot be archived at all (it names no MIME)."""
    return Alert(
        event_id=make_event_id("alert", case_id, "archive_failed", "unarchivable", routed_event_id),
        case_id=case_id,
        occurred_at=now,
        department=department,
        kind=AlertKind.ARCHIVE_FAILED,
        severity=Severity.CRITICAL,
        summary="Ei arkivverdig e-post kan ikkje arkiverast: hendinga manglar data.",
        reason=reason[:MAX_REASON_LENGTH],
    )
