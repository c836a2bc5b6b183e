"""Mail delivered over SMTP to the Graph emulator at a steady rate, each delivery time noted.

The emulator notifies ingest as soon as a mail is stored, so the moment SMTP accepts a mail is
the moment Graph's change notification leaves: the start of every end-to-end latency.
"""

from __future__ import annotations

import asyncio
import smtplib
import time

from devtools.harness.mail import Mail

SENDER = "last@sakspost.invalid"


def _deliver(port: int, mails: list[Mail], rate: float, delivered: dict[str, float]) -> None:
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        for number, mail in enumerate(mails):
            # The schedule, not the previous send, sets each start, so a slow send is caught up.
            wait = started + number / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            smtp.sendmail(SENDER, [mail.mailbox], mail.raw)
            delivered[mail.message_id] = time.monotonic()


async def deliver_at_rate(port: int, mails: list[Mail], rate: float) -> dict[str, float]:
    """Deliver `mails` at `rate` per second (inf: as fast as SMTP takes them); Message-ID → the
    monotonic time SMTP accepted it."""
    delivered: dict[str, float] = {}
    await asyncio.to_thread(_deliver, port, mails, rate, delivered)
    return delivered
