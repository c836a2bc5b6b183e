"""The generic webhook's payload and its signature.

The body is JSON; `X-Sakspost-Signature: sha256=<hex>` is HMAC-SHA256 of the exact body bytes with
the shared secret (SAKSPOST_NOTIFIER_WEBHOOK_SECRET). A receiver recomputes it over the raw body it
received and compares in constant time (`verify`); `sent_at` inside the signed body lets it refuse
old replays, and `notice_id` lets it drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from services.notifier.notice import Notice

SIGNATURE_HEADER = "X-Sakspost-Signature"
NOTICE_ID_HEADER = "X-Sakspost-Notice-Id"
_PREFIX = "sha256="


def webhook_body(notice: Notice, sent_at: datetime) -> bytes:
    message = notice.message
    payload = {
        "notice_id": notice.notice_id,
        "kind": notice.kind.value,
        "department": notice.department,
        "case_id": notice.case_id,
        "about": notice.about,
        "recipient": {"id": notice.recipient.staff_id, "name": notice.recipient.name,
                      "address": notice.recipient.address},
        "language": notice.recipient.language,
        "title": message.title,
        "warning": message.warning,
        "lines": list(message.lines),
        "facts": [{"title": label, "value": value} for label, value in message.facts],
        "link": message.link,
        "sent_at": sent_at.isoformat(),
    }  # fmt: skip
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify(body: bytes, secret: str, signature: str) -> bool:
    return hmac.compare_digest(sign(body, secret), signature.strip())
