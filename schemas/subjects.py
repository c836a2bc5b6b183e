"""Subject builders for the public contract.

`sakspost.mail.<event>.<department>`, `sakspost.alert.<kind>.<department>`,
`sakspost.notice.sent.<department>`, `sakspost.audit.<what>.<department>` and `sakspost.cmd.<verb>`
(request-reply to the service that owns the state).
"""

from __future__ import annotations

import re

from schemas.vocab import AlertKind, MailEvent

PREFIX = "sakspost"
MAIL_ALL = f"{PREFIX}.mail.>"
ALERT_ALL = f"{PREFIX}.alert.>"
NOTICE_ALL = f"{PREFIX}.notice.>"
COMMAND_ALL = f"{PREFIX}.cmd.>"
# Who opened what (issue 19): kept in the events stream beside the alerts, never deleted.
AUDIT_ALL = f"{PREFIX}.audit.>"

# A subject token must not hold NATS wildcards, separators or white space.
_TOKEN = re.compile(r"^[a-z0-9_-]+$")


def check_token(token: str, what: str = "department") -> str:
    if not _TOKEN.match(token):
        raise ValueError(f"{what} {token!r} is not a valid subject token (a-z, 0-9, _ and - only)")
    return token


def mail_subject(event: MailEvent | str, department: str) -> str:
    return f"{PREFIX}.mail.{MailEvent(event).value}.{check_token(department)}"


def mail_event_filter(event: MailEvent | str) -> str:
    """Every department's events of one kind, e.g. `sakspost.mail.received.*`."""
    return f"{PREFIX}.mail.{MailEvent(event).value}.*"


def alert_subject(kind: AlertKind | str, department: str) -> str:
    return f"{PREFIX}.alert.{AlertKind(kind).value}.{check_token(department)}"


def notice_subject(department: str) -> str:
    return f"{PREFIX}.notice.sent.{check_token(department)}"


def audit_subject(what: str, department: str) -> str:
    """`sakspost.audit.<what>.<department>`: who looked at what (issue 19), kept as events are."""
    return f"{PREFIX}.audit.{check_token(what, 'audit')}.{check_token(department)}"


def command_subject(verb: str) -> str:
    return f"{PREFIX}.cmd.{check_token(verb, 'verb')}"


def parse_mail_subject(subject: str) -> tuple[MailEvent, str]:
    """The (event, department) of a mail event subject."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] != "mail":
        raise ValueError(f"not a mail event subject: {subject!r}")
    return MailEvent(parts[2]), parts[3]
