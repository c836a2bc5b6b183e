"""Two different mails with one Message-ID in one mailbox (pure): both are kept, as two cases.

The Message-ID is the sender's choice, so whoever sends one first must not make a later mail with
the same one vanish as "already received" (R13). The first Graph message keeps the case id; a
later, different one becomes its own case under the derived id (`make_clash_case_id`), and the
department's supervisors are told, by case ids only.

What owns a case id is the Graph message's immutable id; for a Sakspost forward (its seal verified)
it is the original it carries, so that a forward repeated after a crash is the same case.
"""

from __future__ import annotations

from schemas.events import Alert, MailReceived
from schemas.identity import make_clash_case_id, make_event_id
from schemas.vocab import AlertKind
from services.common.publisher import Channel
from services.common.received import ReadMail

IDENTITY_CLASH_CHANNEL = Channel(
    "sakspost.alert.identity_clash.{department}",
    Alert,
    "A different mail arrived with a Message-ID another case already has; it is its own case",
)


def mail_identity(read: ReadMail) -> str:
    """What makes two deliveries the same mail, as recorded for the case id it owns."""
    if read.original_sha256 is not None:
        return "sha256:" + read.original_sha256
    return read.event.graph_message_id


def as_clash(event: MailReceived) -> MailReceived:
    """The same `received` event under the case id derived for a clashing mail."""
    case_id = make_clash_case_id(event.mailbox, event.internet_message_id, event.graph_message_id)
    return event.model_copy(
        update={"case_id": case_id, "event_id": make_event_id("received", case_id)}
    )


def clash_alert(taken: str, clash: MailReceived) -> Alert:
    """The alert naming both cases: `taken` had the Message-ID first, `clash` is the newcomer."""
    return Alert.about_case(
        AlertKind.IDENTITY_CLASH,
        clash.case_id,
        clash.department,
        clash.received_at,
        f"Sak {clash.case_id} kom med same Message-ID som sak {taken} og er ei eiga sak. "
        "Sjå etter om ei av dei er forfalska.",
        "message_id_taken",
        [taken, clash.case_id],
    )
