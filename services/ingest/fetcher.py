"""The fetcher: turns stored work into `received`, `sent`, `changed` and `deleted` events.

A message is read once with `$select`; the MIME only for a message ingest has not received yet,
streamed through a spool file into the Object Store (`spool.py`), never whole in memory.
Before any Graph call, KV tells whether this version of the message was already handled, or is
the router's own write-back coming back (its change key), so repeats cost no Graph reads.
A received mail's case id is claimed for its Graph message in KV: a different message with a
Message-ID already taken becomes its own case (services/ingest/clash.py), never "already received".
A received mail dressed up as a Sakspost forward without a valid seal is the sender's own mail,
and alerted.
A mail in Sent Items is published once as `sent` (never followed after: it is not a case), unless
Sakspost wrote it itself. Lifecycle work runs the matching upkeep once: renew, recreate and catch up
(a removal confirmed with Graph first), or catch up.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from nats.js import JetStreamContext

from schemas.events import MailReceived, MailSent
from services.common.errors import PoisonMessage, TransientError
from services.common.forged import forged_marker_alert
from services.common.mail import MailLimits, empty_mail
from services.common.mimestore import MimeStore
from services.common.orgconfig import Department, Organisation
from services.common.outgoing import Marker
from services.common.publisher import EventPublisher
from services.common.received import GraphFacts, read_received
from services.common.seal import SigningKeys
from services.common.workers import OverLimit, WorkerPool
from services.common.writeback import WritebackLog
from services.ingest.changes import first_record, gone, is_received_mail, seen_again
from services.ingest.clash import as_clash, clash_alert, mail_identity
from services.ingest.gateway import GraphGateway, MessageGone
from services.ingest.sent import build_sent, is_sent_mail, sent_event
from services.ingest.snapshot import MessageSnapshot
from services.ingest.spool import SpooledMime, SpoolLimits, spooled_mime
from services.ingest.state import IngestState, MessageRecord
from services.ingest.upkeep import DeltaCatchUp, SubscriptionKeeper
from services.ingest.work import LifecycleWork, MessageWork

log = structlog.get_logger(__name__)
# How soon a notification held back by a pending write-back of ours is looked at again.
PENDING_RECHECK = 0.5


class Fetcher:
    def __init__(
        self,
        org: Organisation,
        state: IngestState,
        gateway: GraphGateway,
        publisher: EventPublisher,
        js: JetStreamContext,
        keeper: SubscriptionKeeper,
        catch_up: DeltaCatchUp,
        writebacks: WritebackLog,
        keys: SigningKeys,
        spool: SpoolLimits,
        workers: WorkerPool,
        limits: MailLimits,
    ) -> None:
        self._org = org
        self._keys = keys
        # The mail is read in a worker process, never on the event loop (issue #16).
        self._workers = workers
        self._limits = limits
        self._state = state
        self._writebacks = writebacks
        self._gateway = gateway
        self._publisher = publisher
        self._mime = MimeStore(js)
        self._spool = spool
        self._keeper = keeper
        self._catch_up = catch_up

    def _department(self, key: str) -> Department:
        department = self._org.departments.get(key)
        if department is None:
            raise PoisonMessage(f"department {key!r} is not in the organisation file")
        return department

    # --- messages -------------------------------------------------------------------------

    async def on_message(self, work: MessageWork) -> None:
        department = self._department(work.department)
        record = await self._state.message(work.message_id)
        if await self._already_handled(work, record):
            return
        if record is None and await self._state.was_sent(work.message_id):
            return
        # With resource data a new mail's notification brought its properties: only its MIME is
        # read. A known message is read as before: a notification retried after a later one
        # must not put older flags or categories back (a read sees the message as it is now).
        carried = work.snapshot if record is None else None
        try:
            snapshot = carried or await self._gateway.message(work.mailbox, work.message_id)
        except MessageGone:
            await self._gone(work, record)
            return
        folder = await self._gateway.folder_name(work.mailbox, snapshot.parent_folder_id)
        if record is None:
            if is_sent_mail(snapshot, folder):
                await self._sent(work, department, snapshot)
                return
            if not is_received_mail(snapshot, folder):
                return
            record = await self._receive(work, department, snapshot)
            if record is None:
                return
        ours = await self._writebacks.written_back(work.message_id)
        transition = seen_again(
            record,
            snapshot,
            folder,
            work.message_id,
            ours.change_key,
            datetime.now(UTC),
            our_categories=ours.categories,
            our_flag=ours.flag_status,
        )
        for event in transition.events:
            await self._publisher.publish(event)
            log.info("published", type=event.event.value, case_id=event.case_id)
        await self._state.save_message(work.message_id, transition.record)

    async def _already_handled(self, work: MessageWork, record: MessageRecord | None) -> bool:
        """This version was handled before, or it is our own write-back: no Graph call."""
        if record is None:
            return False
        if work.presence == "gone":
            return record.removed
        if work.change_key is None:
            return False
        if work.change_key == record.change_key:
            return True
        written = await self._writebacks.written_back(work.message_id)
        if written.pending:
            # The router is writing this message now: its echo must not be read as a human's.
            raise TransientError("our own write-back is under way", retry_after=PENDING_RECHECK)
        return work.change_key == written.change_key

    async def _gone(self, work: MessageWork, record: MessageRecord | None) -> None:
        if record is None:
            # Removed before ingest could read it: there is no MIME left to keep.
            log.warning("message gone before it was read", department=work.department)
            return
        transition = gone(record, work.message_id, datetime.now(UTC))
        for event in transition.events:
            await self._publisher.publish(event)
            log.info("published", type=event.event.value, case_id=event.case_id)
        await self._state.save_message(work.message_id, transition.record)

    async def _receive(
        self, work: MessageWork, department: Department, snapshot: MessageSnapshot
    ) -> MessageRecord | None:
        """Fetch the MIME once, keep it, publish `received` (once per case); the first record."""
        try:
            async with spooled_mime(
                self._gateway, work.mailbox, work.message_id, self._spool
            ) as mime:
                facts = GraphFacts(
                    snapshot.id,
                    snapshot.received_at or datetime.now(UTC),
                    snapshot.conversation_id,
                    # The version read: the router's first write-back is conditional on it.
                    change_key=snapshot.change_key,
                    categories=tuple(snapshot.categories),
                    flag_status=snapshot.flag_status,
                )
                read = await read_received(
                    self._workers,
                    self._org,
                    self._keys,
                    department.addresses[0],
                    mime.raw_for_parse,
                    facts,
                    mime.stored,
                    self._limits,
                )
                await mime.keep(self._mime)
        except MessageGone:
            log.warning("message gone before its MIME was read", department=work.department)
            return None
        event, taken = await self._own_case(read.event, mail_identity(read))
        if await self._state.was_received(event.case_id):
            log.info("already received", case_id=event.case_id)
        else:
            await self._publisher.publish(event)
            # The alerts before the mark: a crash in between repeats them (deduplicated by their
            # ids), never loses them.
            if taken is not None:
                await self._publisher.publish(clash_alert(taken, event))
                log.warning("message-id clash", case_id=event.case_id, taken_by=taken)
            if read.marker is Marker.FORGED:
                await self._publisher.publish(
                    forged_marker_alert(event.case_id, event.department, event.received_at)
                )
                log.warning("forged forward marker", case_id=event.case_id)
            await self._state.mark_received(event.case_id)
            log.info(
                "published",
                type="received",
                case_id=event.case_id,
                department=event.department,
                defects=len(event.parse_defects),
                quarantine=event.quarantine,
                source=work.source,
            )
        return first_record(event, snapshot)

    async def _own_case(
        self, event: MailReceived, identity: str
    ) -> tuple[MailReceived, str | None]:
        """The event under the case id its mail owns, and the case id it clashed with, if any."""
        if await self._state.claim_case(event.case_id, identity) == identity:
            return event, None
        return as_clash(event), event.case_id

    async def _sent(
        self, work: MessageWork, department: Department, snapshot: MessageSnapshot
    ) -> None:
        """A shared mailbox's sent mail: `sent` once, for the outgoing checks (R14, R2, R3)."""
        try:
            async with spooled_mime(
                self._gateway, work.mailbox, work.message_id, self._spool
            ) as mime:
                event = await self._sent_event(work.department, department, snapshot, mime)
                if event is not None:
                    await mime.keep(self._mime)
        except MessageGone:
            return
        if event is not None:
            await self._publisher.publish(event)
            log.info("published", type="sent", case_id=event.case_id, department=event.department)
        await self._state.mark_sent(work.message_id)

    async def _sent_event(
        self, key: str, department: Department, snapshot: MessageSnapshot, mime: SpooledMime
    ) -> MailSent | None:
        """The `sent` event, its headers read in a worker; when not even they can be read within
        the limits, what Graph said is enough."""
        address = department.addresses[0]
        sent = await self._workers.run(
            build_sent,
            self._org,
            self._keys,
            key,
            address,
            mime.raw_for_parse,
            snapshot,
            mime.stored,
        )
        if not isinstance(sent, OverLimit):
            return sent
        return sent_event(key, address, snapshot, empty_mail(["parse-failed"]), mime.stored)

    # --- lifecycle ------------------------------------------------------------------------

    async def on_lifecycle(self, work: LifecycleWork) -> None:
        """Act on a lifecycle event once: one about a subscription replaced since (a repeat, or a
        replay) is ignored, and a removal is confirmed with Graph first. Repeats within a delta
        interval never get here (the work queue drops them)."""
        self._department(work.department)
        log.info("lifecycle event", lifecycle=work.event, department=work.department)
        if not await self._keeper.is_current(work.department, work.subscription_id):
            log.info("lifecycle event of a replaced subscription ignored", lifecycle=work.event)
            return
        if work.event == "reauthorizationRequired":
            if await self._keeper.renew(work.department, work.mailbox):
                await self._catch_up.run(work.department, work.mailbox)
        elif work.event == "subscriptionRemoved":
            if await self._keeper.replace(work.department, work.mailbox, work.subscription_id):
                await self._catch_up.run(work.department, work.mailbox)
        else:
            await self._catch_up.run(work.department, work.mailbox)
