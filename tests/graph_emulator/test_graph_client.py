"""The Graph client factory: emulator base URL, immutable ids asked for, configuration errors."""

from __future__ import annotations

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration

from devtools.graph_emulator import RunningEmulator
from services.common.graph import GraphConfigError, make_graph_client
from tests.graph_emulator.conftest import SHARED


async def test_every_request_asks_for_immutable_ids(
    emulator: RunningEmulator, admin: httpx.AsyncClient
) -> None:
    graph = make_graph_client(emulator.graph_url)
    await graph.users.by_user_id(SHARED).messages.get()
    config = RequestConfiguration()
    config.headers.add("Prefer", "odata.maxpagesize=5")
    await (
        graph.users.by_user_id(SHARED)
        .mail_folders.by_mail_folder_id("inbox")
        .messages.delta.get(config)
    )
    prefers = [
        entry["prefer"] for entry in (await admin.get("/_emulator/requests")).json()["recent"]
    ]
    assert prefers == ['IdType="ImmutableId"', 'odata.maxpagesize=5, IdType="ImmutableId"']


def test_a_client_needs_a_base_url_or_a_complete_app_registration() -> None:
    with pytest.raises(GraphConfigError):
        make_graph_client(None, tenant_id="t", client_id="c")
    assert make_graph_client(None, tenant_id="t", client_id="c", client_secret="s") is not None
