"""Quarantined mail: a mail over a limit of what one mail may cost to read, or unreadable.

It is never dropped and never crashes a service: it becomes a case like any other, with the reason
(`QuarantineReason`) in its `received` event and as the reason id `quarantine.<reason>` of its
`classified` one, treated as possibly sensitive, routed to a person of its department, its MIME
kept, and a `quarantined` alert raised to the department's supervisors. Which defects of a parse
mean quarantine is `mail.quarantine_reason`; which limit of a worker is which reason is here.
"""

from __future__ import annotations

from datetime import datetime

from schemas.events import Alert
from schemas.vocab import AlertKind, QuarantineReason
from services.common.workers import OverLimit

REASON_PREFIX = "quarantine."

_BY_LIMIT = {
    "cpu": QuarantineReason.TOO_COMPLEX,
    "memory": QuarantineReason.TOO_LARGE,
    # The worker died for another reason (a crash in the parser): nothing of it could be read.
    "crashed": QuarantineReason.UNPARSEABLE,
}


def reason_for(over: OverLimit) -> QuarantineReason:
    return _BY_LIMIT[over.limit]


def reason_id(reason: QuarantineReason) -> str:
    """The id among a `classified` event's reasons: `quarantine.too_large`."""
    return f"{REASON_PREFIX}{reason.value}"


def reason_in(reasons: list[str]) -> QuarantineReason | None:
    """The quarantine a `classified` event's reasons name, if any."""
    for reason in reasons:
        if reason.startswith(REASON_PREFIX):
            return QuarantineReason(reason.removeprefix(REASON_PREFIX))
    return None


def quarantine_alert(
    case_id: str, department: str, reason: QuarantineReason, now: datetime
) -> Alert:
    """The supervisors' alert: the case and the reason, never the mail's content."""
    return Alert.about_case(
        AlertKind.QUARANTINED,
        case_id,
        department,
        now,
        "Ei e-post kunne ikkje lesast heilt og er sett i karantene "
        f"({reason.value}): ho er teken vare på og går til ein person, som må opne ho sjølv.",
        reason.value,
    )
