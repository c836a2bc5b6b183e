"""Messages through the real msgraph-sdk: get with $select, $value, list paging, PATCH, move,
delete (R13: mail kept byte for byte; deletions visible)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
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
from msgraph.generated.users.item.messages.item.move.move_post_request_body import (
    MovePostRequestBody,
)
from msgraph.generated.users.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)
from msgraph.graph_service_client import GraphServiceClient

from services.common.graph import get_mime
from tests.graph_emulator.conftest import SHARED, deliver, raw_mail


async def test_get_with_select_and_value_is_byte_exact(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:  # R13
    raw = raw_mail("byggesøknad gnr 12", extra="X-Odd:  two  spaces\r\n")
    message_id = await deliver(admin, SHARED, raw)
    query = MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(
        select=["subject", "internetMessageId", "from", "receivedDateTime"]
    )
    message = (
        await graph.users.by_user_id(SHARED)
        .messages.by_message_id(message_id)
        .get(RequestConfiguration(query_parameters=query))
    )
    assert message.id == message_id
    assert message.subject == "byggesøknad gnr 12"
    assert message.internet_message_id == "<byggesøknad-gnr-12@example.org>"
    assert message.from_.email_address.address == "kari@example.org"
    assert message.body is None  # not selected
    assert await get_mime(graph, SHARED, message_id) == raw


async def test_list_pages_with_next_link(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:
    ids = {await deliver(admin, SHARED, raw_mail(f"mail {n}")) for n in range(7)}
    query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=3, select=["id"])
    builder = graph.users.by_user_id(SHARED).messages
    page = await builder.get(RequestConfiguration(query_parameters=query))
    seen: list[str] = []
    pages = 0
    while page is not None:
        pages += 1
        seen += [m.id for m in page.value]
        page = await builder.with_url(page.odata_next_link).get() if page.odata_next_link else None
    assert pages == 3
    assert sorted(seen) == sorted(ids)


async def test_patch_categories_flag_and_is_read_change_the_etag(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:  # R11, R12
    message_id = await deliver(admin, SHARED, raw_mail("klage"))
    item = graph.users.by_user_id(SHARED).messages.by_message_id(message_id)
    before = await item.get()
    patch = Message(
        categories=["Tildelt: Elin Tjessem", "arkivverdig"],
        flag=FollowupFlag(flag_status=FollowupFlagStatus.Flagged),
        is_read=True,
    )
    answered = await item.patch(patch)
    after = await item.get()
    assert answered.change_key == after.change_key != before.change_key
    assert after.additional_data["@odata.etag"] != before.additional_data["@odata.etag"]
    assert after.categories == ["Tildelt: Elin Tjessem", "arkivverdig"]
    assert after.flag.flag_status == FollowupFlagStatus.Flagged
    assert after.is_read is True
    done = await item.patch(Message(flag=FollowupFlag(flag_status=FollowupFlagStatus.Complete)))
    assert done.flag.flag_status == FollowupFlagStatus.Complete
    assert done.change_key != after.change_key


async def test_patch_with_a_stale_if_match_is_refused_with_412_and_changes_nothing(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:  # R11, R17: a write computed from an older version must not land
    message_id = await deliver(admin, SHARED, raw_mail("samtidig"))
    item = graph.users.by_user_id(SHARED).messages.by_message_id(message_id)
    seen = (await item.get()).additional_data["@odata.etag"]
    human = await item.patch(Message(categories=["Tildelt: Elin Tjessem"]))
    stale: RequestConfiguration[Any] = RequestConfiguration(headers=HeadersCollection())
    stale.headers.add("If-Match", seen)
    with pytest.raises(APIError) as refused:
        await item.patch(Message(categories=["Tildelt: Noen Andre"]), stale)
    assert refused.value.response_status_code == 412
    assert isinstance(refused.value, ODataError)
    assert refused.value.error.code == "ErrorIrresolvableConflict"
    after = await item.get()
    assert after.categories == ["Tildelt: Elin Tjessem"]
    assert after.change_key == human.change_key
    # The current etag, or `*`, lets the update through.
    for tag in (after.additional_data["@odata.etag"], "*"):
        current: RequestConfiguration[Any] = RequestConfiguration(headers=HeadersCollection())
        current.headers.add("If-Match", tag)
        written = await item.patch(Message(categories=["Tildelt: Elin Tjessem", "x"]), current)
        assert written.change_key != after.change_key
        after = written


async def test_patch_of_a_read_only_property_is_refused(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:
    message_id = await deliver(admin, SHARED, raw_mail("read only"))
    item = graph.users.by_user_id(SHARED).messages.by_message_id(message_id)
    with pytest.raises(APIError) as refused:
        await item.patch(Message(subject="changed"))
    assert refused.value.response_status_code == 400
    assert (await item.get()).subject == "read only"


async def test_move_keeps_the_id_and_delete_goes_through_deleted_items(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:  # R13
    message_id = await deliver(admin, SHARED, raw_mail("flytt meg"))
    messages = graph.users.by_user_id(SHARED).messages
    moved = await messages.by_message_id(message_id).move.post(
        MovePostRequestBody(destination_id="sentitems")
    )
    folders = graph.users.by_user_id(SHARED).mail_folders
    sent = await folders.by_mail_folder_id("sentitems").get()
    assert moved.id == message_id
    assert moved.parent_folder_id == sent.id
    await messages.by_message_id(message_id).delete()
    deleted = await folders.by_mail_folder_id("deleteditems").messages.get()
    assert [m.id for m in deleted.value] == [message_id]
    await messages.by_message_id(message_id).delete()
    with pytest.raises(APIError) as gone:
        await messages.by_message_id(message_id).get()
    assert gone.value.response_status_code == 404


async def test_unknown_user_and_bad_select_get_graph_errors(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:
    with pytest.raises(APIError) as unknown:
        await graph.users.by_user_id("nobody@ha.kommune.no").messages.get()
    assert unknown.value.response_status_code == 404
    assert unknown.value.error.code == "ErrorInvalidUser"
    message_id = await deliver(admin, SHARED, raw_mail("select"))
    query = MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(select=["nope"])
    with pytest.raises(APIError) as bad:
        await (
            graph.users.by_user_id(SHARED)
            .messages.by_message_id(message_id)
            .get(RequestConfiguration(query_parameters=query))
        )
    assert bad.value.response_status_code == 400


async def test_mail_folders_have_well_known_names(graph: GraphServiceClient) -> None:
    folders = await graph.users.by_user_id(SHARED).mail_folders.get()
    names = {f.display_name for f in folders.value}
    assert names == {"Inbox", "Drafts", "Sent Items", "Deleted Items"}
    inbox = await graph.users.by_user_id(SHARED).mail_folders.by_mail_folder_id("Inbox").get()
    by_id = await graph.users.by_user_id(SHARED).mail_folders.by_mail_folder_id(inbox.id).get()
    assert by_id.display_name == "Inbox"
