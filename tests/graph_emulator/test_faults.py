"""Fault switches and the request log: throttling one mailbox leaves the others answering."""

from __future__ import annotations

import httpx
import pytest
from kiota_abstractions.api_error import APIError

from devtools.graph_emulator import RunningEmulator
from services.common.graph import make_graph_client
from tests.graph_emulator.conftest import OTHER_SHARED, SHARED, deliver, raw_mail


async def test_throttling_one_mailbox_leaves_the_others_answering(
    emulator: RunningEmulator, admin: httpx.AsyncClient
) -> None:
    graph = make_graph_client(emulator.graph_url, retries=False)
    await deliver(admin, OTHER_SHARED, raw_mail("bygg"))
    faults = {"throttle": 1.0, "retryAfter": 7}
    assert (
        await admin.put(f"/_emulator/mailboxes/{SHARED}/faults", json=faults)
    ).status_code == 200
    await admin.delete("/_emulator/requests")
    with pytest.raises(APIError) as throttled:
        await graph.users.by_user_id(SHARED).messages.get()
    assert throttled.value.response_status_code == 429
    assert throttled.value.response_headers["retry-after"] == "7"
    other = await graph.users.by_user_id(OTHER_SHARED).messages.get()
    assert [m.subject for m in other.value] == ["bygg"]
    log = (await admin.get("/_emulator/requests")).json()
    assert log["byMailbox"] == {SHARED: 1, OTHER_SHARED: 1}
    assert log["byRoute"] == {"GET /v1.0/users/{user}/messages": 2}
    assert log["byStatus"] == {"429": 1, "200": 1}
    await admin.delete(f"/_emulator/mailboxes/{SHARED}/faults")
    assert (await graph.users.by_user_id(SHARED).messages.get()).value == []


async def test_the_default_client_retries_throttling_and_the_send_client_does_not(
    emulator: RunningEmulator, admin: httpx.AsyncClient
) -> None:
    await admin.put(
        f"/_emulator/mailboxes/{SHARED}/faults", json={"throttle": 1.0, "retryAfter": 1}
    )
    for retries, attempts in ((True, 4), (False, 1)):
        await admin.delete("/_emulator/requests")
        with pytest.raises(APIError):
            await (
                make_graph_client(emulator.graph_url, retries=retries)
                .users.by_user_id(SHARED)
                .messages.get()
            )
        assert (await admin.get("/_emulator/requests")).json()["total"] == attempts


async def test_server_errors_and_bad_switches(
    emulator: RunningEmulator, admin: httpx.AsyncClient
) -> None:
    graph = make_graph_client(emulator.graph_url, retries=False)
    await admin.put(
        f"/_emulator/mailboxes/{SHARED}/faults", json={"serverError": 0.5, "serverErrorStatus": 500}
    )
    statuses = []
    for _ in range(4):
        try:
            await graph.users.by_user_id(SHARED).messages.get()
            statuses.append(200)
        except APIError as error:
            statuses.append(error.response_status_code)
    assert sorted(statuses) == [200, 200, 500, 500]
    bad = await admin.put(f"/_emulator/mailboxes/{SHARED}/faults", json={"throttle": 2})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("throttle must be")
