"""Where mail goes: into the emulator's own mailboxes, or into the outbound log for the world.

Mailboxes with automatic replies switched on answer like Exchange does: once per delivered mail,
never to automatic mail (no reply loops).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

import structlog

from devtools.graph_emulator.clock import Clock, graph_datetime, parse_graph_datetime
from devtools.graph_emulator.compose import Draft, build_mime, new_message_id
from devtools.graph_emulator.mime_fields import Address, MessageFields
from devtools.graph_emulator.store import Mailbox, MailStore, StoredMessage

log = structlog.get_logger(__name__)
OUTBOUND_KEPT = 1000


class Postman:
    def __init__(self, store: MailStore, clock: Clock, domain: str) -> None:
        self._store = store
        self._clock = clock
        self._domain = domain.lower()
        self.outbound: deque[dict[str, Any]] = deque(maxlen=OUTBOUND_KEPT)

    def deliver(self, recipients: list[str], raw: bytes, sender: str) -> list[StoredMessage]:
        """Deliver MIME bytes unchanged to each recipient: Inbox when local, else outbound."""
        delivered: list[StoredMessage] = []
        external: list[str] = []
        seen: set[str] = set()
        for recipient in recipients:
            mailbox = self._store.mailbox(recipient)
            if mailbox is None:
                external.append(recipient)
            elif mailbox.address not in seen:
                seen.add(mailbox.address)
                message = self._store.add(mailbox, raw, "inbox")
                delivered.append(message)
                self._auto_reply(mailbox, message.fields)
        if external:
            self.outbound.append(
                {"from": sender, "recipients": external, "at": graph_datetime(self._clock.now()),
                 "mime": raw.decode("utf-8", "replace")}
            )  # fmt: skip
        log.info("mail_delivered", local=len(delivered), external=len(external))
        return delivered

    def send(self, mailbox: Mailbox, draft: Draft, *, save_copy: bool) -> None:
        """Send a composed message from a mailbox, with a copy in its Sent Items."""
        sent = self._clock.now()
        message_id = new_message_id(mailbox.address)
        sender = Address(mailbox.display_name, mailbox.address)
        outgoing = build_mime(draft, sender, sent, message_id, with_bcc=False)
        recipients = [a.address for a in draft.all_recipients()]
        self.deliver(recipients, outgoing, mailbox.address)
        if save_copy:
            copy = build_mime(draft, sender, sent, message_id, with_bcc=True)
            self._store.add(mailbox, copy, "sentitems", is_read=True)

    def _replying(self, mailbox: Mailbox, now: datetime) -> dict[str, Any] | None:
        setting: dict[str, Any] = mailbox.settings["automaticRepliesSetting"]
        if setting["status"] == "alwaysEnabled":
            return setting
        if setting["status"] != "scheduled":
            return None
        try:
            start = parse_graph_datetime(setting["scheduledStartDateTime"]["dateTime"])
            end = parse_graph_datetime(setting["scheduledEndDateTime"]["dateTime"])
        except (KeyError, TypeError, ValueError):
            return None
        return setting if start <= now < end else None

    def _auto_reply(self, mailbox: Mailbox, received: MessageFields) -> None:
        setting = self._replying(mailbox, self._clock.now())
        if setting is None or received.sender is None:
            return
        automatic = {k.lower(): v.lower() for k, v in received.headers}
        if automatic.get("auto-submitted", "no") != "no" or "x-auto-response-suppress" in automatic:
            return
        internal = received.sender.address.lower().endswith("@" + self._domain)
        if not internal and setting["externalAudience"] == "none":
            return
        text = setting["internalReplyMessage" if internal else "externalReplyMessage"]
        draft = Draft(
            subject=f"Automatic reply: {received.subject}",
            body_type="html",
            body=text,
            recipients={"toRecipients": [received.sender]},
            references=received.internet_message_id,
        )
        sender = Address(mailbox.display_name, mailbox.address)
        now = self._clock.now()
        raw = build_mime(draft, sender, now, new_message_id(mailbox.address), with_bcc=False)
        marked = b"Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n" + raw
        self.deliver([received.sender.address], marked, mailbox.address)
