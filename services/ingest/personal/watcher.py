"""Watching opted-in personal mailboxes: their Inbox (R9c) and Sent Items (R15, R2, R3).

- Only a person who opted in is watched: one subscription per folder, with its own clientState,
  on its own webhook path. A person who opts out loses the subscriptions and every cursor.
- A notification only wakes its folder; the folder's delta round (from a link kept in KV, a cursor)
  then says which messages are new, and each is read and judged in memory. Notifications carry no
  content, and nothing about a personal mail is stored: not even in ingest's work stream.
- On the first watch of a folder its delta round only sets the cursor: mail already there is the
  offboarding sweep's business (R16), not the live watch's.
- The watch runs on the replica holding ingest's upkeep lease, every delta interval and whenever a
  notification wakes it. A notification reaching another replica is left to the next interval.
- One bad item never stops the watch (`services/common/isolation.py`): a folder Graph refuses, or
  a mail that cannot be judged or forwarded (a control character in its subject), is logged,
  alerted once and skipped; the folder's cursor still moves on and the other folders are read. A
  mail whose read is only throttled is not skipped: its round is retried with the cursor unmoved.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.common.errors import TRANSIENT_ERRORS
from services.common.isolation import Isolation, item_key
from services.common.orgconfig import Organisation, StaffMember
from services.ingest.config import IngestSettings
from services.ingest.gateway import DeltaRestart, GraphGateway
from services.ingest.notifications import KnownSubscription, Refused, count_judged, judge
from services.ingest.personal.mailroom import Mailroom
from services.ingest.personal.state import FOLDERS, PersonalState, folder_key
from services.ingest.personal.verdict import AskOwner, Forward, LeaveAlone
from services.ingest.state import SubscriptionRecord
from services.ingest.webhook import BodyBudget, handshake, read_batch

log = structlog.get_logger(__name__)

PERSONAL_PATH = "/graph/personal"
_GRAPH_FOLDER = {"inbox": "Inbox", "sentitems": "SentItems"}


def folder_resource(mailbox: str, folder: str) -> str:
    return f"users/{mailbox}/mailFolders('{_GRAPH_FOLDER[folder]}')/messages"


class PersonalWatcher:
    def __init__(
        self,
        org: Organisation,
        ingest: IngestSettings,
        state: PersonalState,
        gateway: GraphGateway,
        mailroom: Mailroom,
        endpoint: str,
        interval_seconds: float,
        budget: BodyBudget,
        isolation: Isolation,
    ) -> None:
        self._org = org
        self._ingest = ingest
        self._state = state
        self._gateway = gateway
        self._mailroom = mailroom
        self._endpoint = endpoint
        self._budget = budget
        self._interval = timedelta(seconds=interval_seconds)
        self._isolation = isolation
        self._known: dict[str, KnownSubscription] = {}  # subscription id -> its folder key
        self._woken: set[str] = set()
        self._wake = asyncio.Event()
        self._last_round: dict[str, datetime] = {}
        self._seen: dict[str, set[str]] = {}  # folder key -> message ids judged in this process
        self.left_alone = 0  # private mail left alone: the only trace it leaves

    # --- the webhook ----------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        """Graph's notifications for personal folders: they only wake a folder's delta round."""
        answer = handshake(request)
        if answer is not None:
            return answer
        try:
            items = (await read_batch(request, self._ingest, self._budget)).items
        except Refused as refused:
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        judged = await asyncio.to_thread(judge, items, dict(self._known), datetime.now(UTC))
        count_judged(judged)
        if judged.dropped:
            log.warning("personal notifications dropped", **judged.dropped)
        for accepted in judged.accepted:
            self._woken.add(accepted.subscription.department)
        if judged.accepted:
            self._wake.set()
        return Response(status_code=202)

    # --- the loop -------------------------------------------------------------------------

    async def run(self, holding: Callable[[], bool]) -> None:
        while True:
            if holding():
                try:
                    await self.tick()
                except Exception as error:  # Graph or NATS failing: the next tick retries
                    log.warning("personal watch failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._ingest.upkeep_interval_seconds)
            self._wake.clear()

    async def tick(self) -> None:
        """Follow every opt-in and opt-out, then run the folders that are woken or due."""
        wanted = {member.id: member for member in await self._state.opted_in(self._org)}
        subscriptions = await self._state.subscriptions()
        for key, record in subscriptions.items():
            staff_id = key.partition("/")[0]
            if staff_id not in wanted:
                await self._isolation.run(key, partial(self._stop, staff_id, record))
        for member in wanted.values():
            for folder in FOLDERS:
                key = folder_key(member.id, folder)
                subscribe = partial(self._subscription, member, folder, subscriptions.get(key))
                # Graph validates a new subscription by calling the webhook, which fails until
                # this pod is ready (the Service routes to ready pods only): retried on the next
                # tick, never alerted. Delta reads the folder meanwhile.
                await self._isolation.run(f"{key} subscription", subscribe, alert=False)
                await self._isolation.run(key, partial(self._catch_up, member, folder))

    async def _stop(self, staff_id: str, record: SubscriptionRecord) -> None:
        await self._gateway.delete_subscription(record.id)
        await self._state.forget(staff_id)
        for folder in FOLDERS:
            self._seen.pop(folder_key(staff_id, folder), None)
            self._last_round.pop(folder_key(staff_id, folder), None)
        self._known = {i: k for i, k in self._known.items() if k.id != record.id}
        log.info("personal mailbox no longer watched", staff_id=staff_id)

    async def _subscription(
        self, member: StaffMember, folder: str, record: SubscriptionRecord | None
    ) -> None:
        key = folder_key(member.id, folder)
        now = datetime.now(UTC)
        renew_at = timedelta(minutes=self._ingest.renew_before_minutes)
        if record is None or record.expires - now <= renew_at:
            if record is not None:
                await self._gateway.delete_subscription(record.id)
            record = await self._subscribe(member, folder)
            await self._state.save_subscription(key, record)
            log.info("personal folder watched", staff_id=member.id, folder=folder)
        self._known[record.id] = record.known(key)

    async def _catch_up(self, member: StaffMember, folder: str) -> None:
        key = folder_key(member.id, folder)
        now = datetime.now(UTC)
        link = await self._state.delta_link(member.id, folder)
        due = now - self._last_round.get(key, datetime.min.replace(tzinfo=UTC)) >= self._interval
        if link is None or key in self._woken or due:
            self._woken.discard(key)
            await self._round(member, folder, link)
            self._last_round[key] = now

    async def _subscribe(self, member: StaffMember, folder: str) -> SubscriptionRecord:
        secret = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(minutes=self._ingest.subscription_minutes)
        resource = folder_resource(member.email, folder)
        created = await self._gateway.create_subscription(
            member.email, self._endpoint, self._endpoint, expires, secret, resource
        )
        return SubscriptionRecord(
            id=created.id, mailbox=member.email, client_state=secret, expires=created.expires
        )

    async def _round(self, member: StaffMember, folder: str, link: str | None) -> None:
        size = self._ingest.delta_page_size
        try:
            findings, next_link = await self._gateway.delta_round(member.email, folder, link, size)
        except DeltaRestart:
            findings, next_link = await self._gateway.delta_round(member.email, folder, None, size)
            link = None
        if link is not None:
            await self._judge(member, folder, [f.message_id for f in findings if not f.removed])
        if next_link:
            await self._state.save_delta_link(member.id, folder, next_link)

    async def _judge(self, member: StaffMember, folder: str, message_ids: list[str]) -> None:
        key = folder_key(member.id, folder)
        seen = self._seen.setdefault(key, set())
        counts: Counter[str] = Counter()

        async def judge(message_id: str) -> None:
            if folder == "inbox":
                # The owner's request category ("Til Sakspost") is honoured on any change of a mail.
                if await self._mailroom.on_owner_request(member, message_id):
                    counts["forwarded"] += 1
                    return
                if message_id in seen:
                    return
                verdict = await self._mailroom.on_received(member, message_id)
                counts["forwarded"] += isinstance(verdict, Forward)
                counts["owner_told"] += isinstance(verdict, AskOwner)
                self.left_alone += isinstance(verdict, LeaveAlone)
            elif message_id not in seen:
                counts["owner_told"] += await self._mailroom.on_sent(member, message_id)

        for message_id in message_ids:
            # The item is named by a hash: a personal mail's Graph id stays out of logs and alerts.
            item = f"{key}/{item_key(message_id)}"
            if not await self._isolation.run(
                item, partial(judge, message_id), propagate=TRANSIENT_ERRORS
            ):
                counts["skipped"] += 1
            seen.add(message_id)
        if message_ids:
            log.info(
                "personal folder judged",
                folder=folder,
                forwarded=counts["forwarded"],
                owner_told=counts["owner_told"],
                skipped=counts["skipped"],
                left_alone_total=self.left_alone,
            )
