"""Delivering one notice: claim it in the ledger, try its channels in order with retries and
backoff, record it, audit it (R11), and raise an alert when a channel failed.

- Each channel gets `send_attempts` tries with doubling delays (Retry-After honoured up to the cap);
  a permanent failure skips to the next channel at once. Whatever a sender raises is its channel's
  failure: an error it did not foresee (a control character in a title refused by the e-mail
  header, a bug) is permanent for that channel, and the next channel is tried.
- Delivered through a fallback channel: the notice counts as delivered, and the supervisors get a
  `notice_undeliverable` alert naming the channel that failed.
- No channel could deliver it: the alert is raised and the notice is retried later by the runtime
  (TransientError), so it is never lost.
- An alert about an undeliverable alert notice raises no further alert (no loops).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import structlog

from schemas.events import Alert, NoticeSent
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, Channel, NoticeKind, Severity
from services.common.clock import Clock
from services.common.errors import TRANSIENT_ERRORS, TransientError
from services.common.metrics import NOTICES
from services.common.publisher import EventPublisher
from services.common.retry import retry_delay
from services.notifier.channels import ChannelFailed, Sender
from services.notifier.config import NotifierConfig
from services.notifier.ledger import AlreadySent, Claimed, NoticeLedger
from services.notifier.notice import Notice

log = structlog.get_logger(__name__)
Sleep = Callable[[float], Awaitable[None]]


class Deliverer:
    def __init__(
        self,
        ledger: NoticeLedger,
        senders: Mapping[Channel, Sender],
        publisher: EventPublisher,
        config: NotifierConfig,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._ledger = ledger
        self._senders = senders
        self._publisher = publisher
        self._config = config
        self._clock = clock
        self._sleep = sleep

    async def deliver(self, notice: Notice) -> Channel | None:
        """Deliver `notice` once; returns the channel used, or None when it had gone out before."""
        claim = await self._ledger.claim(notice.notice_id)
        if isinstance(claim, AlreadySent):
            # A crash may have come between recording and auditing: the audit event is
            # deterministic, so publishing it again is a no-op on the stream.
            await self._audit(notice, claim.channel or notice.route.channel)
            return None
        try:
            return await self._deliver_claimed(notice, claim)
        finally:
            self._ledger.release(notice.notice_id)

    async def _deliver_claimed(self, notice: Notice, claim: Claimed) -> Channel:
        failures: list[ChannelFailed] = []
        for channel in notice.route.chain:
            try:
                await self._try_channel(channel, notice, claim.resumed)
            except ChannelFailed as failure:
                log.warning(
                    "channel failed",
                    notice_id=notice.notice_id,
                    channel=channel.value,
                    reason=str(failure),
                )
                NOTICES.labels(channel.value, "failed").inc()
                failures.append(failure)
                continue
            NOTICES.labels(channel.value, "sent").inc()
            await self._ledger.mark_sent(notice.notice_id, channel, claim)
            await self._audit(notice, channel)
            if failures:
                await self._undeliverable(notice, failures, delivered_by=channel)
            return channel
        NOTICES.labels(notice.route.channel.value, "undeliverable").inc()
        await self._undeliverable(notice, failures, delivered_by=None)
        raise TransientError(
            f"no channel could deliver notice {notice.notice_id}",
            retry_after=self._config.retry_max_seconds,
        )

    async def _try_channel(self, channel: Channel, notice: Notice, resumed: bool) -> None:
        sender = self._senders.get(channel)
        if sender is None:
            raise ChannelFailed(channel, "not configured", permanent=True)
        attempts = self._config.send_attempts
        for attempt in range(1, attempts + 1):
            try:
                # After a failed attempt the outcome is unknown (a timeout may hide a send):
                # from the second attempt on, the sender checks before sending again.
                await _send(sender, notice, resumed or attempt > 1)
                return
            except ChannelFailed as failure:
                if failure.permanent or attempt == attempts:
                    raise
                delay = retry_delay(
                    attempt, self._config.retry_base_seconds, self._config.retry_max_seconds
                )
                if failure.retry_after is not None:
                    delay = min(max(delay, failure.retry_after), self._config.retry_max_seconds)
                await self._sleep(delay)

    async def _audit(self, notice: Notice, channel: Channel) -> None:
        sent = NoticeSent(
            event_id=make_event_id("notice_sent", notice.case_id or "", notice.notice_id),
            case_id=notice.case_id,
            occurred_at=self._clock(),
            department=notice.department,
            kind=notice.kind,
            recipient=notice.recipient.party(),
            channel=channel,
            about=notice.about,
            language=notice.recipient.language,
        )
        await self._publisher.publish(sent)

    async def _undeliverable(
        self, notice: Notice, failures: list[ChannelFailed], delivered_by: Channel | None
    ) -> None:
        if notice.kind == NoticeKind.ALERT and notice.about == AlertKind.NOTICE_UNDELIVERABLE:
            return
        failed = ", ".join(f.channel.value for f in failures)
        outcome = f"levert via {delivered_by.value}" if delivered_by else "ikkje levert"
        alert = Alert(
            event_id=make_event_id(
                "alert", notice.case_id or "", AlertKind.NOTICE_UNDELIVERABLE.value,
                notice.notice_id, delivered_by.value if delivered_by else "",
            ),
            case_id=notice.case_id,
            occurred_at=self._clock(),
            department=notice.department,
            kind=AlertKind.NOTICE_UNDELIVERABLE,
            severity=Severity.WARNING if delivered_by else Severity.CRITICAL,
            summary=f"Varsel ({notice.kind.value}) feila via {failed}; {outcome}",
            reason="; ".join(str(f) for f in failures)[:500],
        )  # fmt: skip
        await self._publisher.publish(alert)


async def _send(sender: Sender, notice: Notice, resumed: bool) -> None:
    """One attempt through `sender`; anything it raises becomes its channel's failure."""
    try:
        await sender.send(notice, resumed)
    except ChannelFailed:
        raise
    except TRANSIENT_ERRORS as error:
        raise ChannelFailed(sender.channel, type(error).__name__, permanent=False) from error
    except Exception as error:
        # Only the type: the message may quote the notice's title or an address.
        raise ChannelFailed(sender.channel, type(error).__name__, permanent=True) from error
