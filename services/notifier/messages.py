"""What each kind of notice says: the assigned mail (R11, R2), a group of alerts (R10), the digest.

Pure: events and the organisation in, a channel-neutral `Message` out, in the recipient's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from schemas.events import Alert, MailRouted
from schemas.vocab import AlertKind
from services.common.language import Language
from services.common.orgconfig import Organisation
from services.notifier.digest import Digest
from services.notifier.notice import Message
from services.notifier.texts import (
    alert_kind_name,
    class_name,
    local_time,
    phrase,
    sender_kind,
    sensitive_warning,
)

MAX_SUMMARIES = 5


def outlook_link(template: str, mailbox: str | None, message_id: str | None) -> str | None:
    """The Outlook on the web link that opens the message (the immutable id, URL-encoded)."""
    if not message_id:
        return None
    return template.format(
        message_id=quote(message_id, safe=""), mailbox=quote(mailbox or "", safe="@")
    )


def assigned_message(
    routed: MailRouted, language: Language, org: Organisation, link_template: str
) -> Message:
    """The notice to the assignee. A sensitive mail's subject stays out: it may itself be
    sensitive; the warning names only the kinds of content found (R2, R3)."""
    sensitive = bool(routed.sensitive)
    facts: list[tuple[str, str]] = []
    if not sensitive and routed.subject:
        facts.append((phrase(language, "subject"), routed.subject))
    sender = routed.sender.address if routed.sender else None
    facts.append((phrase(language, "sender"), sender_kind(sender, org.domain, language)))
    facts.append((phrase(language, "class"), class_name(routed.mail_class)))
    if routed.topics:
        facts.append((phrase(language, "topics"), ", ".join(routed.topics)))
    if routed.due_at is not None:
        facts.append((phrase(language, "due"), local_time(routed.due_at, org.timezone, language)))
    title = (
        phrase(language, "assigned_title_sensitive")
        if sensitive
        else phrase(language, "assigned_title", subject=routed.subject or "–")
    )
    department = org.departments.get(routed.department)
    mailbox = routed.mailbox or (department.mailbox if department else "")
    return Message(
        title=title,
        lines=(phrase(language, "assigned_intro", mailbox=mailbox),),
        facts=tuple(facts),
        warning=sensitive_warning(routed.sensitive, language) if sensitive else None,
        link=outlook_link(link_template, mailbox, routed.graph_message_id),
        link_label=phrase(language, "open_link"),
    )


def alert_message(
    kind: AlertKind,
    department_name: str,
    alerts: Sequence[Alert],
    language: Language,
    max_listed: int,
    *,
    to_operations: bool = False,
) -> Message:
    """One message for a group of alerts of one kind in one department (an alert storm)."""
    case_ids: list[str] = []
    for alert in alerts:
        for case_id in (alert.case_id, *alert.case_ids):
            if case_id and case_id not in case_ids:
                case_ids.append(case_id)
    summaries: list[str] = []
    for alert in alerts:
        if alert.summary not in summaries:
            summaries.append(alert.summary)
    count = len(case_ids) or len(alerts)
    listed = case_ids[:max_listed]
    intro = "operations_intro" if to_operations else "alert_intro"
    lines = [phrase(language, intro, department=department_name)]
    lines.extend(summaries[:MAX_SUMMARIES])
    if listed:
        lines.append(f"{phrase(language, 'cases')}: {', '.join(listed)}")
    if len(case_ids) > len(listed):
        lines.append(phrase(language, "and_more", count=len(case_ids) - len(listed)))
    title = phrase(
        language,
        "alert_title",
        kind=alert_kind_name(kind, language),
        count=count,
        department=department_name,
    )
    return Message(title=title, lines=tuple(lines))


def digest_message(digest: Digest, department_name: str, language: Language) -> Message:
    facts = (
        (phrase(language, "open"), str(digest.open)),
        (phrase(language, "unassigned"), str(digest.unassigned)),
        (phrase(language, "overdue"), str(digest.overdue)),
        (phrase(language, "archived"), str(digest.archived)),
    )
    loads = tuple(
        phrase(language, "per_caseworker", name=load.name, open=load.open, overdue=load.overdue)
        for load in digest.caseworkers
    ) or (phrase(language, "nobody_open"),)
    return Message(
        title=phrase(language, "digest_title", department=department_name, date=digest.day),
        lines=(phrase(language, "digest_intro", department=department_name), *loads),
        facts=facts,
    )
