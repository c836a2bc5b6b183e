"""Giving up on a message: a copy in the dead-letter stream with its reason, and an alert (R10)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import structlog
from nats.aio.msg import Msg

from schemas.events import Alert, utc_now
from schemas.identity import make_event_id
from schemas.subjects import parse_mail_subject
from schemas.vocab import AlertKind, Severity
from services.common.delivery import Delivery
from services.common.jetstream import DEAD_LETTER_PREFIX
from services.common.publisher import EventPublisher

log = structlog.get_logger(__name__)


class DeadLetters:
    def __init__(self, publisher: EventPublisher, fallback_department: str) -> None:
        self._publisher = publisher
        self._fallback_department = fallback_department

    async def send(self, msg: Msg, delivery: Delivery, reason: str) -> None:
        """Copy `msg` to the dead-letter stream and alert; the caller terminates the delivery."""
        consumer, message_key = delivery.consumer, delivery.message_key
        letter_id = f"{consumer}:{message_key}"
        headers = {
            "Nats-Msg-Id": letter_id,
            "Sakspost-Original-Subject": msg.subject,
            "Sakspost-Original-Sequence": message_key,
            "Sakspost-Reason": reason[:500],
        }
        await self._publisher.publish_dead_letter(
            f"{DEAD_LETTER_PREFIX}.{consumer}", msg.data, headers
        )
        department, case_id = self._where(msg.subject, msg.data)
        alert = Alert(
            event_id=make_event_id("alert", case_id or "", "dead_letter", letter_id),
            case_id=case_id,
            occurred_at=utc_now(),
            department=department,
            kind=AlertKind.DEAD_LETTER,
            severity=Severity.CRITICAL,
            summary=f"Ei hending kunne ikkje handsamast av {consumer}",
            reason=reason[:500],
        )
        await self._publisher.publish(alert)
        log.error("dead-lettered", consumer=consumer, message=message_key, reason=reason)

    def _where(self, subject: str, data: bytes) -> tuple[str, str | None]:
        """The department and case of a message, as far as they can be read from it."""
        department = self._fallback_department
        with contextlib.suppress(ValueError):
            department = parse_mail_subject(subject)[1]
        case_id: str | None = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            payload: Any = json.loads(data)
            value = payload.get("case_id")
            case_id = value if isinstance(value, str) else None
        return department, case_id
