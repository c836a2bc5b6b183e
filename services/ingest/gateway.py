"""The seam between ingest and Microsoft Graph (msgraph-sdk): the few calls ingest makes, typed.

- Every call for a mailbox goes through its gate: at most four at once (Exchange's limit per app
  and mailbox), and none while Graph has told that mailbox to wait (429/503 with Retry-After).
  Other mailboxes are not held up: a throttled mailbox fails fast with `TransientError`, and the
  consumer retries that message after the delay while it goes on with the rest.
- The SDK's own retries are off: they would sleep inside the fetcher and block every mailbox.
- A message is read once, with `$select` of what ingest needs; the MIME once, streamed into a file
  (`download_mime`), so that a 150 MB mail never sits in memory.
- A stored link (a deltaLink from KV, a nextLink, a sweep's cursor) is followed only when it points
  at Graph (`is_graph_link`): anything else is discarded and reported, never requested, and the
  read starts afresh (delta: `ForeignLink`, a `DeltaRestart`, so a full round follows).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, TypeVar

import structlog
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.subscription import Subscription
from msgraph.graph_service_client import GraphServiceClient

from services.common.errors import TransientError
from services.common.graph import (
    MimeDownload,
    download_mime,
    get_mime,
    graph_root,
    is_graph_link,
    send_mime,
)
from services.ingest.resource_data import EncryptionCertificate
from services.ingest.snapshot import MESSAGE_FIELDS, MessageSnapshot

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Folders whose mail ingest tells apart; mail anywhere else counts as received mail.
NAMED_FOLDERS = ("deleteditems", "sentitems", "drafts")
DEFAULT_RETRY_AFTER = 5.0
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_DELTA_RESTART_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired"})


class MessageGone(Exception):
    """The message is no longer in the mailbox (404)."""


class SubscriptionGone(Exception):
    """Graph no longer has the subscription (404): it must be created again."""


class DeltaRestart(Exception):
    """The delta link is no longer valid (410, sync state lost): start a full round."""


class ForeignLink(DeltaRestart):
    """A stored link points somewhere other than Graph: discarded unrequested, start afresh."""


# Told (mailbox) that a link pointing away from Graph was discarded: the caller alerts.
ForeignLinkReport = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class DeltaFinding:
    message_id: str
    change_key: str | None
    removed: bool


@dataclass(frozen=True)
class CreatedSubscription:
    id: str
    expires: datetime


def mailbox_resource(mailbox: str) -> str:
    """The subscription resource: the whole mailbox, so that moves (into Deleted Items, R13)
    are seen, not only the Inbox."""
    return f"users/{mailbox}/messages"


def is_conflict(error: APIError) -> bool:
    """Graph refuses a second subscription for the same resource and change types (409)."""
    return bool(error.response_status_code == 409)


def _header(error: APIError, name: str) -> str | None:
    for key, value in (error.response_headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _retry_after(error: APIError) -> float:
    text = _header(error, "retry-after")
    try:
        return max(0.0, float(text)) if text else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _error_code(error: APIError) -> str:
    main = getattr(error, "error", None)
    code = getattr(main, "code", None)
    return str(code).lower() if code else ""


class MailboxGate:
    """Per-mailbox concurrency and Retry-After, so one throttled mailbox delays only itself."""

    def __init__(self, concurrency: int) -> None:
        self._concurrency = concurrency
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._until: dict[str, float] = {}

    def throttled_for(self, mailbox: str) -> float:
        return max(0.0, self._until.get(mailbox, 0.0) - time.monotonic())

    def throttle(self, mailbox: str, seconds: float) -> None:
        self._until[mailbox] = max(self._until.get(mailbox, 0.0), time.monotonic() + seconds)

    @contextlib.asynccontextmanager
    async def slot(self, mailbox: str) -> AsyncIterator[None]:
        waiting = self.throttled_for(mailbox)
        if waiting > 0:
            raise TransientError("mailbox throttled by Graph", retry_after=waiting)
        semaphore = self._slots.setdefault(mailbox, asyncio.Semaphore(self._concurrency))
        async with semaphore:
            yield


class GraphGateway:
    def __init__(
        self,
        client: GraphServiceClient,
        gate: MailboxGate,
        on_foreign_link: ForeignLinkReport | None = None,
    ) -> None:
        self._client = client
        self._gate = gate
        self._root = graph_root(client.request_adapter.base_url)
        self._on_foreign_link = on_foreign_link
        self._folders: dict[str, dict[str, str]] = {}  # mailbox -> folder id -> well-known name

    async def _call(self, mailbox: str | None, call: Callable[[], Awaitable[T]]) -> T:
        """Run one Graph call for `mailbox` under its gate; throttling becomes TransientError."""
        async with self._gate.slot(mailbox) if mailbox else contextlib.nullcontext():
            try:
                return await call()
            except APIError as error:
                status = error.response_status_code or 0
                if status in _TRANSIENT_STATUS:
                    delay = _retry_after(error)
                    if mailbox and status in (429, 503):
                        self._gate.throttle(mailbox, delay)
                    log.info("graph throttled", status=status, retry_after_s=delay)
                    raise TransientError(f"Graph answered {status}", retry_after=delay) from None
                raise

    async def _trusted(self, mailbox: str, link: str) -> bool:
        """`link` may be followed; when it may not, it is reported (and never requested)."""
        if is_graph_link(link, self._root):
            return True
        log.error("graph link discarded: not under the Graph root", root=self._root)
        if self._on_foreign_link is not None:
            await self._on_foreign_link(mailbox)
        return False

    # --- messages -------------------------------------------------------------------------

    async def message(self, mailbox: str, message_id: str) -> MessageSnapshot:
        builder = self._client.users.by_user_id(mailbox).messages.by_message_id(message_id)
        config: RequestConfiguration[Any] = RequestConfiguration(
            query_parameters=builder.MessageItemRequestBuilderGetQueryParameters(
                select=MESSAGE_FIELDS
            )
        )
        try:
            found = await self._call(mailbox, lambda: builder.get(config))
        except APIError as error:
            if error.response_status_code == 404:
                raise MessageGone(message_id) from None
            raise
        if found is None:
            raise MessageGone(message_id)
        flag = found.flag.flag_status if found.flag is not None else None
        return MessageSnapshot(
            id=found.id or message_id,
            change_key=found.change_key,
            internet_message_id=found.internet_message_id,
            conversation_id=found.conversation_id,
            received_at=found.received_date_time,
            parent_folder_id=found.parent_folder_id,
            categories=list(found.categories or []),
            flag_status=flag.value if flag is not None else None,
            is_draft=bool(found.is_draft),
        )

    async def mime(self, mailbox: str, message_id: str) -> bytes:
        try:
            return await self._call(mailbox, lambda: get_mime(self._client, mailbox, message_id))
        except APIError as error:
            if error.response_status_code == 404:
                raise MessageGone(message_id) from None
            raise

    async def download_mime(
        self, mailbox: str, message_id: str, sink: BinaryIO, cap: int
    ) -> MimeDownload:
        """Stream the message's MIME into `sink`, at most `cap` bytes of it (a fresh `sink` per
        attempt: a failure part way leaves part of the mail in it)."""
        try:
            return await self._call(
                mailbox, lambda: download_mime(self._client, mailbox, message_id, sink, cap)
            )
        except APIError as error:
            if error.response_status_code == 404:
                raise MessageGone(message_id) from None
            raise

    async def send_mime(self, mailbox: str, raw: bytes) -> None:
        """Send RFC 5322 bytes from `mailbox` (a personal mailbox's forward, an owner's notice)."""
        await self._call(mailbox, lambda: send_mime(self._client, mailbox, raw))

    async def folder_name(self, mailbox: str, folder_id: str | None) -> str:
        """The well-known name of a folder id among NAMED_FOLDERS, else "other"."""
        if mailbox not in self._folders:
            names: dict[str, str] = {}
            for name in NAMED_FOLDERS:
                builder = self._client.users.by_user_id(mailbox).mail_folders.by_mail_folder_id(
                    name
                )
                folder = await self._call(mailbox, builder.get)
                if folder is not None and folder.id:
                    names[folder.id] = name
            self._folders[mailbox] = names
        return self._folders[mailbox].get(folder_id or "", "other")

    # --- delta ----------------------------------------------------------------------------

    async def delta_round(
        self, mailbox: str, folder: str, link: str | None, page_size: int
    ) -> tuple[list[DeltaFinding], str | None]:
        """One full round from `link` (None: a full sync): what changed and the next deltaLink."""
        builder = (
            self._client.users.by_user_id(mailbox)
            .mail_folders.by_mail_folder_id(folder)
            .messages.delta
        )
        findings: list[DeltaFinding] = []
        try:
            if link is None:
                config: RequestConfiguration[Any] = RequestConfiguration(
                    query_parameters=builder.DeltaRequestBuilderGetQueryParameters(
                        select=["id", "changeKey"]
                    )
                )
                config.headers.add("Prefer", f"odata.maxpagesize={page_size}")
                page = await self._call(mailbox, lambda: builder.get(config))
            elif await self._trusted(mailbox, link):
                page = await self._call(mailbox, builder.with_url(link).get)
            else:
                raise ForeignLink(folder)
            while page is not None:
                for item in page.value or []:
                    if not item.id:
                        continue
                    removed = "@removed" in (item.additional_data or {})
                    findings.append(DeltaFinding(item.id, item.change_key, removed))
                if not page.odata_next_link:
                    return findings, page.odata_delta_link
                if not await self._trusted(mailbox, page.odata_next_link):
                    raise ForeignLink(folder)
                page = await self._call(mailbox, builder.with_url(page.odata_next_link).get)
        except APIError as error:
            status = error.response_status_code
            if status == 410 or (status == 400 and _error_code(error) in _DELTA_RESTART_CODES):
                raise DeltaRestart(folder) from None
            raise
        return findings, None

    async def message_page(
        self, mailbox: str, link: str | None, page_size: int
    ) -> tuple[list[str], str | None]:
        """One page of the ids of every message in the mailbox, and the link to the next page
        (None after the last): a cursor that a long read (the offboarding sweep) can resume. A
        cursor pointing away from Graph is discarded: the read starts again from the first page."""
        builder = self._client.users.by_user_id(mailbox).messages
        if link is None or not await self._trusted(mailbox, link):
            config: RequestConfiguration[Any] = RequestConfiguration(
                query_parameters=builder.MessagesRequestBuilderGetQueryParameters(
                    select=["id"], top=page_size
                )
            )
            page = await self._call(mailbox, lambda: builder.get(config))
        else:
            page = await self._call(mailbox, builder.with_url(link).get)
        if page is None:
            return [], None
        return [m.id for m in page.value or [] if m.id], page.odata_next_link

    # --- subscriptions --------------------------------------------------------------------

    async def create_subscription(
        self,
        mailbox: str,
        notification_url: str,
        lifecycle_url: str,
        expires: datetime,
        client_state: str,
        resource: str | None = None,
        encryption: EncryptionCertificate | None = None,
    ) -> CreatedSubscription:
        """A subscription on the whole mailbox, or on `resource` (a personal mailbox's folder).

        With `encryption` its notifications carry the message's properties (ingest's `$select`
        of them) encrypted for that certificate: a received mail then costs one Graph read."""
        request = Subscription(
            change_type="created,updated,deleted",
            notification_url=notification_url,
            lifecycle_notification_url=lifecycle_url,
            resource=resource or mailbox_resource(mailbox),
            expiration_date_time=expires,
            client_state=client_state,
        )
        if encryption is not None:
            request.resource = f"{request.resource}?$select={','.join(MESSAGE_FIELDS)}"
            request.include_resource_data = True
            request.encryption_certificate = encryption.encoded()
            request.encryption_certificate_id = encryption.id
        created = await self._call(None, lambda: self._client.subscriptions.post(request))
        if created is None or not created.id or created.expiration_date_time is None:
            raise TransientError("Graph returned no subscription")
        return CreatedSubscription(created.id, created.expiration_date_time)

    async def renew_subscription(self, subscription_id: str, expires: datetime) -> datetime:
        """Renew (which also reauthorizes); the expiry Graph granted."""
        builder = self._client.subscriptions.by_subscription_id(subscription_id)
        try:
            renewed = await self._call(
                None, lambda: builder.patch(Subscription(expiration_date_time=expires))
            )
        except APIError as error:
            if error.response_status_code == 404:
                raise SubscriptionGone(subscription_id) from None
            raise
        if renewed is None or renewed.expiration_date_time is None:
            return expires
        granted: datetime = renewed.expiration_date_time
        return granted

    async def find_subscriptions(self, resource: str) -> list[str]:
        """Ids of this app's subscriptions on `resource`, with or without resource data (to
        clear one whose secret was lost)."""
        found = await self._call(None, self._client.subscriptions.get)

        def path(value: str) -> str:
            return value.partition("?")[0].strip("/").lower()

        return [
            s.id
            for s in (found.value if found is not None else None) or []
            if s.id and path(s.resource or "") == path(resource)
        ]

    async def subscription_exists(self, subscription_id: str) -> bool:
        """Whether Graph still has the subscription (lifecycle events are confirmed by it)."""
        builder = self._client.subscriptions.by_subscription_id(subscription_id)
        try:
            await self._call(None, builder.get)
        except APIError as error:
            if error.response_status_code == 404:
                return False
            raise
        return True

    async def delete_subscription(self, subscription_id: str) -> None:
        builder = self._client.subscriptions.by_subscription_id(subscription_id)
        try:
            await self._call(None, builder.delete)
        except APIError as error:
            if error.response_status_code != 404:
                raise
