"""Delta per folder through msgraph-sdk: paging with nextLink, deltaLink rounds, @removed (R13)."""

from __future__ import annotations

from typing import Any

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.graph_service_client import GraphServiceClient

from tests.graph_emulator.conftest import SHARED, deliver, raw_mail


async def delta_round(
    graph: GraphServiceClient, link: str | None, page_size: int = 2
) -> tuple[list[Any], str, int]:
    """Follow nextLinks to the end of a round: the items, the deltaLink and the page count."""
    builder = graph.users.by_user_id(SHARED).mail_folders.by_mail_folder_id("inbox").messages.delta
    if link is None:
        config = RequestConfiguration()
        config.headers.add("Prefer", f"odata.maxpagesize={page_size}")
        page = await builder.get(config)
    else:
        page = await builder.with_url(link).get()
    items: list[Any] = []
    pages = 1
    while page.odata_next_link:
        items += page.value
        page = await builder.with_url(page.odata_next_link).get()
        pages += 1
    items += page.value
    assert page.odata_delta_link
    return items, page.odata_delta_link, pages


async def test_delta_pages_then_reports_changes_and_removals(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:  # R13
    ids = [await deliver(admin, SHARED, raw_mail(f"delta {n}")) for n in range(5)]
    items, link, pages = await delta_round(graph, None)
    assert pages == 3
    assert sorted(m.id for m in items) == sorted(ids)

    unchanged, link, _ = await delta_round(graph, link)
    assert unchanged == []

    messages = graph.users.by_user_id(SHARED).messages
    await messages.by_message_id(ids[0]).delete()  # to Deleted Items: gone from the Inbox
    from msgraph.generated.models.message import Message

    await messages.by_message_id(ids[1]).patch(Message(categories=["Tildelt: Elin Tjessem"]))
    new_id = await deliver(admin, SHARED, raw_mail("delta new"))
    changes, link, _ = await delta_round(graph, link)
    removed = [m.id for m in changes if "@removed" in m.additional_data]
    present = {m.id: m for m in changes if "@removed" not in m.additional_data}
    assert removed == [ids[0]]
    assert changes[[m.id for m in changes].index(ids[0])].additional_data["@removed"] == {
        "reason": "deleted"
    }
    assert set(present) == {ids[1], new_id}
    assert present[ids[1]].categories == ["Tildelt: Elin Tjessem"]


async def test_a_bad_delta_token_is_a_graph_error(graph: GraphServiceClient, emulator: Any) -> None:
    import pytest
    from kiota_abstractions.api_error import APIError

    builder = graph.users.by_user_id(SHARED).mail_folders.by_mail_folder_id("inbox").messages.delta
    bad = f"{emulator.graph_url}/users/{SHARED}/mailFolders/inbox/messages/delta()?$deltatoken=%%%"
    with pytest.raises(APIError) as refused:
        await builder.with_url(bad).get()
    assert refused.value.response_status_code == 400
