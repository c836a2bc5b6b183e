"""The three ways a notice leaves Sakspost: e-mail (Graph sendMail), Teams, a signed webhook.

Each sender makes one attempt and says how it failed: `permanent` (retrying cannot help: a 4xx, a
channel without its URL) or not (throttled, down, timed out: try again, honouring Retry-After).
Retrying, backoff and fallback are the deliverer's (services/notifier/delivery.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)
from msgraph.graph_service_client import GraphServiceClient

from schemas.vocab import Channel
from services.common.clock import Clock
from services.common.graph import send_mime
from services.common.orgconfig import Organisation
from services.common.seal import SigningKeys
from services.notifier.cards import teams_message
from services.notifier.mime import notice_message_id, notice_mime
from services.notifier.notice import Notice
from services.notifier.signing import NOTICE_ID_HEADER, SIGNATURE_HEADER, sign, webhook_body

HTTP_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class ChannelFailed(Exception):
    def __init__(
        self, channel: Channel, reason: str, *, permanent: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{channel.value}: {reason}")
        self.channel = channel
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    channel: Channel

    async def send(self, notice: Notice, resumed: bool) -> None:
        """One attempt; `resumed` means an earlier attempt may have gone out unrecorded."""


def _retry_after(headers: dict[str, str] | None) -> float | None:
    value = {k.lower(): v for k, v in (headers or {}).items()}.get("retry-after", "")
    return float(value) if value.strip().isdigit() else None


def _is_transient_status(status: int | None) -> bool:
    return status is None or status in (408, 429) or status >= 500


class EmailSender:
    """Graph sendMail in MIME form from the no-reply mailbox; the SDK's retry is off (a retried
    POST could send twice), so a repeat happens only here, after looking in Sent Items."""

    channel = Channel.EMAIL

    def __init__(
        self, graph: GraphServiceClient, org: Organisation, keys: SigningKeys, clock: Clock
    ) -> None:
        self._graph = graph
        self._keys = keys
        self._mailbox = org.no_reply_address
        self._sender_name = f"{org.name} – Sakspost"
        self._domain = org.no_reply_address.partition("@")[2]
        self._clock = clock

    async def already_sent(self, notice: Notice) -> bool:
        message_id = notice_message_id(notice.notice_id, self._domain).replace("'", "''")
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"internetMessageId eq '{message_id}'", select=["id"], top=1
        )
        config = RequestConfiguration(query_parameters=query)
        sent_items = self._graph.users.by_user_id(self._mailbox).mail_folders.by_mail_folder_id(
            "sentitems"
        )
        try:
            found = await sent_items.messages.get(request_configuration=config)
        except APIError as error:
            raise self._failure(error) from None
        except httpx.TransportError as error:
            raise ChannelFailed(self.channel, type(error).__name__, permanent=False) from None
        return bool(found and found.value)

    async def send(self, notice: Notice, resumed: bool) -> None:
        if resumed and await self.already_sent(notice):
            return
        raw = notice_mime(notice, self._mailbox, self._sender_name, self._keys, self._clock())
        try:
            await send_mime(self._graph, self._mailbox, raw)
        except APIError as error:
            raise self._failure(error) from None
        except httpx.TransportError as error:
            raise ChannelFailed(self.channel, type(error).__name__, permanent=False) from None

    def _failure(self, error: APIError) -> ChannelFailed:
        status = error.response_status_code
        return ChannelFailed(
            self.channel,
            f"Graph answered {status}",
            permanent=not _is_transient_status(status),
            retry_after=_retry_after(error.response_headers),
        )


class HttpSender:
    """A JSON POST to a URL from the environment: Teams, or the signed generic webhook."""

    def __init__(
        self,
        channel: Channel,
        http: httpx.AsyncClient,
        url_for: Callable[[Notice], str | None],
        body_for: Callable[[Notice], bytes],
        secret: str | None = None,
    ) -> None:
        self.channel = channel
        self._http = http
        self._url_for = url_for
        self._body_for = body_for
        self._secret = secret

    async def send(self, notice: Notice, resumed: bool) -> None:
        # `resumed` cannot be checked here: receivers drop repeats by the notice id header.
        url = self._url_for(notice)
        if not url:
            raise ChannelFailed(self.channel, "not configured", permanent=True)
        body = self._body_for(notice)
        headers = {"Content-Type": "application/json", NOTICE_ID_HEADER: notice.notice_id}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self._secret)
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.TransportError as error:
            raise ChannelFailed(self.channel, type(error).__name__, permanent=False) from None
        if response.is_success:
            return
        raise ChannelFailed(
            self.channel,
            f"answered {response.status_code}",
            permanent=not _is_transient_status(response.status_code),
            retry_after=_retry_after(dict(response.headers)),
        )


def teams_body(notice: Notice) -> bytes:
    return json.dumps(teams_message(notice), ensure_ascii=False).encode("utf-8")


def make_webhook_sender(
    http: httpx.AsyncClient,
    url: str | None,
    operations_url: str | None,
    secret: str | None,
    clock: Clock,
) -> HttpSender:
    """The generic webhook (operations may have their own URL); without a secret it counts as not
    configured (never sent unsigned)."""
    return HttpSender(
        Channel.WEBHOOK,
        http,
        lambda notice: (operations_url if notice.to_operations else url) if secret else None,
        lambda notice: webhook_body(notice, clock()),
        secret,
    )
