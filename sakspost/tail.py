"""`sakspost tail`: events as an integrator sees them, one line each."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from nats.js import api
from rich.console import Console

from services.common.connect import connect_once
from services.common.jetstream import EVENTS_STREAM
from services.common.settings import Settings

# The fields worth a glance, per event type, in the order they are shown.
_SUMMARY_FIELDS: dict[str, tuple[str, ...]] = {
    "received": ("mailbox", "mime_sha256", "parse_defects"),
    "classified": ("mail_class", "confidence", "topics", "sensitive", "suggested_department"),
    "routed": ("mail_class", "policy", "assignee", "due_at"),
    "archived": ("archive_system", "registry_number", "journalpost_id"),
    "completed": ("via", "by"),
    "changed": ("flag_status", "categories"),
    "deleted": ("how",),
    "sent": ("mailbox", "conversation_id"),
    "alert": ("kind", "severity", "summary"),
    "notice_sent": ("kind", "channel", "recipient"),
}


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or value.get("address") or value.get("name"))
    if isinstance(value, list):
        return ",".join(_short(v) for v in value) or "-"
    if isinstance(value, str) and len(value) > 24 and value.isalnum():
        return value[:12] + "…"
    return str(value)


def format_event_line(subject: str, data: bytes) -> str:
    """One line: time, subject, case and the event's key fields (never the mail's content)."""
    try:
        payload = json.loads(data)
    except ValueError:
        return f"{subject}  <{len(data)} byte, ikkje JSON>"
    if not isinstance(payload, dict):
        return f"{subject}  <ukjend innhald>"
    fields = _SUMMARY_FIELDS.get(str(payload.get("type")), ())
    parts = [f"{name}={_short(payload.get(name))}" for name in fields if name in payload]
    when = str(payload.get("occurred_at", ""))[11:19]
    return f"{when}  {subject:<38} case={payload.get('case_id') or '-'}  {'  '.join(parts)}"


def print_event_line(console: Console) -> Callable[[str], None]:
    """Print event lines whole (no wrapping, no colouring of ids), as a log reader expects."""

    def emit(line: str) -> None:
        console.print(line, highlight=False, soft_wrap=True)

    return emit


async def tail(
    settings: Settings,
    subject: str,
    emit: Callable[[str], None],
    from_start: bool = False,
    stop_after: int | None = None,
    subscribed: asyncio.Event | None = None,
) -> int:
    """Print events on `subject` until cancelled or `stop_after` events; returns the count."""
    # As an integrator sees them: the integrator identity, read-only on the events.
    connection = await connect_once(settings, "integrator", "sakspost-tail")
    count = 0
    try:
        js = connection.jetstream()
        policy = api.DeliverPolicy.ALL if from_start else api.DeliverPolicy.NEW
        # An ordered consumer: ephemeral, in order, nothing to clean up, invisible to services.
        subscription = await js.subscribe(
            subject, stream=EVENTS_STREAM, ordered_consumer=True, deliver_policy=policy
        )
        if subscribed is not None:
            subscribed.set()
        async for message in subscription.messages:
            emit(format_event_line(message.subject, message.data))
            count += 1
            if stop_after is not None and count >= stop_after:
                break
    finally:
        await connection.close()
    return count
