"""The router's uses of Microsoft Graph (msgraph-sdk): writing a case back onto its message in
Outlook (R11, R12), reading the message when that write finds it changed, and reading who is away
(Outlook automatic replies, cached).

Every write is conditional: `If-Match` carries the etag of the version of the message the write was
planned on, and Graph answers 412 (`ErrorIrresolvableConflict`) when someone changed the message
since. Without it a PATCH is last-writer-wins, and a write planned before a caseworker's change in
Outlook, arriving after it, silently undoes that change.

Graph down or throttling is a `TransientError` (retried for as long as it takes); a message that is
no longer there is not an error here (a deletion reaches the router as a `deleted` event, R13).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from msgraph.generated.models.automatic_replies_status import AutomaticRepliesStatus
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.followup_flag import FollowupFlag
from msgraph.generated.models.followup_flag_status import FollowupFlagStatus
from msgraph.generated.models.message import Message
from msgraph.generated.users.item.mailbox_settings.mailbox_settings_request_builder import (
    MailboxSettingsRequestBuilder,
)
from msgraph.generated.users.item.messages.item.message_item_request_builder import (
    MessageItemRequestBuilder,
)
from msgraph.graph_service_client import GraphServiceClient

from services.common.errors import TransientError
from services.common.orgconfig import Organisation
from services.router.clock import Clock
from services.router.outlook import FlagPlan, WriteBackPlan
from services.router.record import FlagStatus

log = structlog.get_logger(__name__)

NOT_FOUND = 404
PRECONDITION_FAILED = 412
THROTTLED = 429
_FLAG_STATUSES: tuple[FlagStatus, ...] = ("notFlagged", "flagged", "complete")
# Graph allows 4 concurrent requests per app and mailbox; automatic replies are read per person.
MAX_CONCURRENT_LOOKUPS = 4


class MessageGone(Exception):
    """The message is no longer in the mailbox (removed for good)."""


class WriteConflict(Exception):
    """The message is no longer the version the write was planned on: nothing was written."""


@dataclass(frozen=True)
class MessageState:
    """What Outlook shows on a message, and which version of it that is."""

    change_key: str | None
    categories: list[str]
    flag: FlagStatus | None


def etag_of(change_key: str) -> str:
    """The `@odata.etag` Graph gives an Outlook item: its change key as a weak entity tag."""
    return f'W/"{change_key}"'


def graph_failure(error: APIError, what: str) -> Exception:
    """A Graph error as the retry discipline wants it: transient when Graph is busy or down."""
    status = error.response_status_code or 0
    if status == THROTTLED or status >= 500:
        headers = {k.lower(): v for k, v in (error.response_headers or {}).items()}
        retry_after = headers.get("retry-after", "")
        return TransientError(
            f"Graph {what}: HTTP {status}",
            retry_after=float(retry_after) if retry_after.isdigit() else None,
        )
    return RuntimeError(f"Graph {what}: HTTP {status}")


def _graph_time(moment: datetime) -> DateTimeTimeZone:
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return DateTimeTimeZone(date_time=text, time_zone="UTC")


def _flag(plan: FlagPlan) -> FollowupFlag:
    flag = FollowupFlag(flag_status=FollowupFlagStatus(plan.status))
    if plan.start is not None:
        flag.start_date_time = _graph_time(plan.start)
    if plan.due is not None:
        flag.due_date_time = _graph_time(plan.due)
    if plan.completed is not None:
        flag.completed_date_time = _graph_time(plan.completed)
    return flag


class OutlookWriter:
    """PATCHes categories and flag onto a message in a shared mailbox, by its immutable id."""

    def __init__(self, client: GraphServiceClient) -> None:
        self._client = client

    async def write(
        self, mailbox: str, message_id: str, plan: WriteBackPlan, *, if_match: str | None
    ) -> str | None:
        """Write `plan` if the message is still at change key `if_match` (None: unconditionally).

        Returns the change key Graph gave the written message; `WriteConflict` when the message
        changed since `if_match`, `MessageGone` when there is none.
        """
        # A fresh, minimal Message: a fetched one carries read-only fields Graph refuses.
        body = Message(categories=list(plan.categories), flag=_flag(plan.flag))
        item = self._client.users.by_user_id(mailbox).messages.by_message_id(message_id)
        config: RequestConfiguration[None] = RequestConfiguration(headers=HeadersCollection())
        if if_match is not None:
            config.headers.add("If-Match", etag_of(if_match))
        try:
            answer = await item.patch(body, config)
        except APIError as error:
            if error.response_status_code == NOT_FOUND:
                raise MessageGone(message_id) from error
            if error.response_status_code == PRECONDITION_FAILED:
                raise WriteConflict(message_id) from error
            raise graph_failure(error, "write-back") from error
        change_key = getattr(answer, "change_key", None)
        return change_key if isinstance(change_key, str) else None

    async def read(self, mailbox: str, message_id: str) -> MessageState:
        """The message's categories, flag and change key now; `MessageGone` when there is none."""
        item = self._client.users.by_user_id(mailbox).messages.by_message_id(message_id)
        query = MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(
            select=["categories", "flag", "changeKey"]
        )
        try:
            found = await item.get(RequestConfiguration(query_parameters=query))
        except APIError as error:
            if error.response_status_code == NOT_FOUND:
                raise MessageGone(message_id) from error
            raise graph_failure(error, "read of a message") from error
        if found is None:
            raise MessageGone(message_id)
        status = found.flag.flag_status if found.flag is not None else None
        value = status.value if status is not None else None
        flag = next((known for known in _FLAG_STATUSES if known == value), None)
        change_key = found.change_key if isinstance(found.change_key, str) else None
        return MessageState(change_key, list(found.categories or []), flag)


def _moment(value: DateTimeTimeZone | None, default_zone: ZoneInfo) -> datetime | None:
    if value is None or not isinstance(value.date_time, str):
        return None
    zone_name = value.time_zone or "UTC"
    try:
        zone = ZoneInfo("UTC" if zone_name.upper() == "UTC" else zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        # Exchange may answer with a Windows zone name; the organisation's zone is the best guess.
        zone = default_zone
    try:
        return datetime.fromisoformat(value.date_time).replace(tzinfo=zone)
    except ValueError:
        return None


class AutoReplies:
    """Who is away now: their Outlook automatic replies are on (R11). Cached for `ttl_seconds`."""

    def __init__(
        self, client: GraphServiceClient, org: Organisation, clock: Clock, ttl_seconds: float
    ) -> None:
        self._client = client
        self._org = org
        self._clock = clock
        self._ttl = ttl_seconds
        self._zone = ZoneInfo(org.timezone)
        self._cache: dict[str, tuple[datetime, bool]] = {}
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_LOOKUPS)

    async def away(self, staff_ids: Iterable[str]) -> frozenset[str]:
        wanted = sorted(set(staff_ids))
        answers = await asyncio.gather(*(self.is_away(staff_id) for staff_id in wanted))
        return frozenset(staff_id for staff_id, away in zip(wanted, answers, strict=True) if away)

    async def is_away(self, staff_id: str) -> bool:
        now = self._clock()
        cached = self._cache.get(staff_id)
        if cached is not None and (now - cached[0]).total_seconds() < self._ttl:
            return cached[1]
        async with self._limit:
            away = await self._read(staff_id, now)
        self._cache[staff_id] = (now, away)
        return away

    async def _read(self, staff_id: str, now: datetime) -> bool:
        address = self._org.staff_member(staff_id).email
        query = MailboxSettingsRequestBuilder.MailboxSettingsRequestBuilderGetQueryParameters(
            select=["automaticRepliesSetting"]
        )
        config = RequestConfiguration(query_parameters=query)
        try:
            settings = await self._client.users.by_user_id(address).mailbox_settings.get(
                request_configuration=config
            )
        except APIError as error:
            if error.response_status_code == NOT_FOUND:
                # No mailbox to read: nothing says the person is away.
                log.warning("no mailbox settings for staff member", staff_id=staff_id)
                return False
            raise graph_failure(error, "automatic replies") from error
        replies = getattr(settings, "automatic_replies_setting", None)
        status = getattr(replies, "status", None)
        if status == AutomaticRepliesStatus.AlwaysEnabled:
            return True
        if status != AutomaticRepliesStatus.Scheduled or replies is None:
            return False
        start = _moment(replies.scheduled_start_date_time, self._zone)
        end = _moment(replies.scheduled_end_date_time, self._zone)
        return start is not None and end is not None and start <= now < end
