"""The outgoing checks on a shared mailbox's sent mail (pure): which alerts a `sent` event raises.

- R14: a reply in an archival conversation (the thread memory says the conversation held
  arkivverdig mail) was sent from Sakspost, not from WebSak: `reply_not_from_websak`, with the
  command that files it as an outgoing journalpost.
- R2, R3: sent mail holding sensitive content or a confidentiality marking (quoted text included:
  quoting an identity number back is sending it): `sensitive_outgoing`, naming the kinds.

Alerts go to the department's supervisors (the notifier), so they name the kinds, the mailbox and
the sent mail's id, never its content, subject or recipients. Sakspost's own mail is never judged;
a mail claiming to be Sakspost's without a valid seal is judged like any other, and alerted
(`forged_marker`).
"""

from __future__ import annotations

from datetime import datetime

from schemas.events import Alert, MailSent
from schemas.vocab import AlertKind, MailClass, SensitiveKind
from services.classifier.engine import Classifier
from services.classifier.received import default_classifier
from services.common.forged import forged_marker_alert
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import Marker, sakspost_marker
from services.common.seal import SigningKeys

ARCHIVE_HINT = "sakspost cases archive-reply {case_id}"


def _alert(event: MailSent, kind: AlertKind, summary: str, reason: str, now: datetime) -> Alert:
    return Alert.about_case(kind, event.case_id, event.department, now, summary, reason)


def reply_alert(event: MailSent, now: datetime) -> Alert:
    return _alert(
        event,
        AlertKind.REPLY_NOT_FROM_WEBSAK,
        f"Eit svar i ein arkivverdig samtale vart sendt frå {event.mailbox} i Sakspost, ikkje frå "
        "WebSak (R14). Arkiver det som utgåande journalpost: "
        + ARCHIVE_HINT.format(case_id=event.case_id),
        "archival_conversation",
        now,
    )


def sensitive_alert(event: MailSent, kinds: tuple[SensitiveKind, ...], now: datetime) -> Alert:
    names = ", ".join(kind.value for kind in kinds)
    return _alert(
        event,
        AlertKind.SENSITIVE_OUTGOING,
        f"Ei e-post sendt frå {event.mailbox} inneheld {names}, som ikkje skal sendast "
        "med e-post (R2, R3).",
        names,
        now,
    )


def check_sent(
    event: MailSent,
    mime: bytes,
    org: Organisation,
    keys: SigningKeys,
    thread_class: MailClass | None,
    classifier: Classifier | None,
    now: datetime,
) -> list[Alert]:
    """The alerts one sent mail raises (none for Sakspost's own sealed notices and forwards). The
    service runs this in a worker process (`classifier` None: the worker's own)."""
    marker = sakspost_marker(mime, org, keys, event.sent_at)
    if marker is Marker.SEALED:
        return []
    alerts = []
    if marker is Marker.FORGED:
        alerts.append(forged_marker_alert(event.case_id, event.department, now))
    if thread_class is MailClass.ARKIVVERDIG:
        alerts.append(reply_alert(event, now))
    engine = classifier or default_classifier()
    sensitive = engine.classify(parse_mail(mime), event.mailbox, org, thread_class).sensitive
    if sensitive:
        alerts.append(sensitive_alert(event, sensitive, now))
    return alerts
