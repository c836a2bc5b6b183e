"""Deterministic identities: case ids and event ids.

A case is one mail in one mailbox (a mail sent to two official addresses is two cases). Its id is
short, URL-safe and the same every time the same mail is seen, so that a notification delivered
twice, or a mail seen by both the webhook and a delta query, lands on the same case. A Message-ID
is chosen by the sender, so two different mails can bring the same one: the first Graph message
(by its immutable id) keeps `make_case_id`, every later one is its own case under
`make_clash_case_id` (ingest records which Graph message owns each case id). Event ids are
deterministic for the same fact, so that they double as the `Nats-Msg-Id` for JetStream dedupe.
"""

from __future__ import annotations

import base64
import hashlib

CASE_ID_LENGTH = 20
EVENT_ID_LENGTH = 26


def _digest_token(text: str, length: int) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:length]


def normalise_message_id(message_id: str) -> str:
    """The Internet Message-ID without angle brackets or surrounding white space."""
    return message_id.strip().strip("<>").strip()


def make_case_id(mailbox: str, internet_message_id: str | None, graph_message_id: str) -> str:
    """The case id of a mail in a mailbox.

    The Internet Message-ID identifies a mail across mailboxes and re-deliveries; Graph's immutable
    id stands in only when a mail has none (some malformed mail does not).
    """
    key = normalise_message_id(internet_message_id or "") or f"graph:{graph_message_id}"
    return _digest_token(f"{mailbox.strip().lower()}\n{key}", CASE_ID_LENGTH)


def make_clash_case_id(mailbox: str, internet_message_id: str | None, graph_message_id: str) -> str:
    """The case id of a different Graph message that arrived with a Message-ID another case in the
    mailbox already has: the mailbox, the Message-ID and Graph's immutable id together."""
    key = normalise_message_id(internet_message_id or "")
    text = f"{mailbox.strip().lower()}\n{key}\ngraph:{graph_message_id}"
    return _digest_token(text, CASE_ID_LENGTH)


def make_event_id(event: str, case_id: str, *facts: str) -> str:
    """A deterministic id for one fact about a case (`facts` tell apart facts of the same kind)."""
    return _digest_token("\n".join((event, case_id, *facts)), EVENT_ID_LENGTH)
