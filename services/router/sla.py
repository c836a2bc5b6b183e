"""Deadlines (R10): a case's `due_at` from its department's SLA for its class and topics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from schemas.vocab import MailClass
from services.common.orgconfig import Sla
from services.router.calendar import WorkingCalendar


def sla_working_days(sla: Sla, mail_class: MailClass, topics: Iterable[str]) -> int | None:
    """Working days allowed: the shortest deadline among the topics that have one, else the class's.

    A topic overrides its class both ways (innsynskrav is faster than other archival mail; a
    consultation may be given longer). None: the class has no deadline.
    """
    topic_days = [
        sla.days_by_topic[topic.casefold()]
        for topic in topics
        if topic.casefold() in sla.days_by_topic
    ]
    if topic_days:
        return min(topic_days)
    return sla.days_by_class.get(mail_class)


def due_at(
    calendar: WorkingCalendar,
    sla: Sla,
    mail_class: MailClass,
    topics: Iterable[str],
    received_at: datetime,
) -> datetime | None:
    days = sla_working_days(sla, mail_class, topics)
    return None if days is None else calendar.add_working_days(received_at, days)
