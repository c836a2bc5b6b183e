"""The router's uses of Microsoft Graph (msgraph-sdk): writing a case back onto its message in
Outlook (R11, R12), and reading the message when that write finds it changed. Who is away is read
by `services.common.away`.

Every write is conditional: `If-Match` carries the etag of the version of the message the write was
planned on, and Graph answers 412 (`ErrorIrresolvableConflict`) when someone changed the message
since. Without it a PATCH is last-writer-wins, and a write planned before a caseworker's change in
Outlook, arriving after it, silently undoes that change.

Graph down or throttling is a `TransientError` (retried for as long as it takes); a message that is
no longer there is not an error here (a deletion reaches the router as a `deleted` event, R13).

Answers are read from their raw JSON, not through the SDK's models: Graph answers a PATCH with the
whole message, of which only the change key is needed, and the SDK's parse of it was half the
router's CPU per mail (its `Entity` deserialisers import and map hundreds of model classes on every
parse).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import structlog
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from msgraph.generated.models.followup_flag import FollowupFlag
from msgraph.generated.models.followup_flag_status import FollowupFlagStatus
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.messages.item.message_item_request_builder import (
    MessageItemRequestBuilder,
)
from msgraph.graph_service_client import GraphServiceClient

from services.common.flags import FlagStatus, parse_flag_status
from services.common.graph import graph_failure
from services.common.graphtime import graph_time
from services.router.outlook import FlagPlan, WriteBackPlan

log = structlog.get_logger(__name__)

NOT_FOUND = 404
PRECONDITION_FAILED = 412


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


def _flag(plan: FlagPlan) -> FollowupFlag:
    flag = FollowupFlag(flag_status=FollowupFlagStatus(plan.status))
    if plan.start is not None:
        flag.start_date_time = graph_time(plan.start)
    if plan.due is not None:
        flag.due_date_time = graph_time(plan.due)
    if plan.completed is not None:
        flag.completed_date_time = graph_time(plan.completed)
    return flag


def _json_object(answer: object) -> dict[str, Any] | None:
    """Graph's answer as a JSON object; None when it sent none."""
    if not isinstance(answer, bytes) or not answer:
        return None
    parsed = json.loads(answer)
    return parsed if isinstance(parsed, dict) else None


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
        request = item.to_patch_request_information(body, config)
        try:
            answer = await self._client.request_adapter.send_primitive_async(
                request, "bytes", {"XXX": ODataError}
            )
        except APIError as error:
            if error.response_status_code == NOT_FOUND:
                raise MessageGone(message_id) from error
            if error.response_status_code == PRECONDITION_FAILED:
                raise WriteConflict(message_id) from error
            raise graph_failure(error, "write-back") from error
        change_key = (_json_object(answer) or {}).get("changeKey")
        return change_key if isinstance(change_key, str) else None

    async def read(self, mailbox: str, message_id: str) -> MessageState:
        """The message's categories, flag and change key now; `MessageGone` when there is none."""
        item = self._client.users.by_user_id(mailbox).messages.by_message_id(message_id)
        query = MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(
            select=["categories", "flag", "changeKey"]
        )
        request = item.to_get_request_information(RequestConfiguration(query_parameters=query))
        try:
            answer = await self._client.request_adapter.send_primitive_async(
                request, "bytes", {"XXX": ODataError}
            )
        except APIError as error:
            if error.response_status_code == NOT_FOUND:
                raise MessageGone(message_id) from error
            raise graph_failure(error, "read of a message") from error
        found = _json_object(answer)
        if found is None:
            raise MessageGone(message_id)
        flag = found.get("flag")
        status = parse_flag_status(flag.get("flagStatus")) if isinstance(flag, dict) else None
        change_key = found.get("changeKey")
        categories = found.get("categories")
        return MessageState(
            change_key if isinstance(change_key, str) else None,
            [c for c in categories if isinstance(c, str)] if isinstance(categories, list) else [],
            status,
        )
