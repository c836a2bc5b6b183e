"""SMTP intake: mail for the emulator's mailboxes, stored byte for byte as received (R13).

Recipients are checked at RCPT TO, like Exchange's directory-based edge blocking: an address
that is not one of the emulator's mailboxes gets 550.
"""

from __future__ import annotations

from typing import Any

import structlog

from devtools.graph_emulator.delivery import Postman
from devtools.graph_emulator.store import MailStore

log = structlog.get_logger(__name__)


class IntakeHandler:
    def __init__(self, store: MailStore, postman: Postman) -> None:
        self._store = store
        self._postman = postman

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self._store.mailbox(address) is None:
            log.info("smtp_recipient_refused")
            return "550 5.1.1 Recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content
        if not isinstance(raw, bytes):
            return "554 5.6.0 No message content"
        self._postman.deliver(list(envelope.rcpt_tos), raw, str(envelope.mail_from or ""))
        return "250 2.0.0 OK: queued"
