"""Graph's limits per app and mailbox (`GRAPH_EMULATOR_LIMITS=graph`): a fifth request in flight
for one mailbox gets Graph's 429 with Retry-After, another mailbox keeps answering, and
msgraph-sdk's retry handler waits it out and succeeds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from devtools.graph_emulator import RunningEmulator, run_emulator
from devtools.graph_emulator.limits import ENV, ON, Limits, MailboxLimits, limits_from_env
from services.common.graph import make_graph_client
from services.common.orgconfig import Organisation
from tests.graph_emulator.conftest import FAST, OTHER_SHARED, SHARED, deliver, raw_mail, wait_until


@pytest.fixture
async def limited(
    org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningEmulator]:
    monkeypatch.setenv(ENV, ON)
    async with run_emulator(org, "127.0.0.1", 0, 0, timings=FAST) as running:
        yield running


async def held_body(release: asyncio.Event) -> AsyncIterator[bytes]:
    """A PATCH body whose end is sent only on `release`: its request stays in flight till then."""
    yield b'{"isRead": '
    await release.wait()
    yield b"true}"


async def test_a_fifth_request_in_flight_for_one_mailbox_is_throttled_and_retried(
    limited: RunningEmulator,
) -> None:
    log = limited.emulator.requests
    in_flight = limited.emulator.faults.in_flight
    async with httpx.AsyncClient(base_url=limited.base_url, trust_env=False) as client:
        message = await deliver(client, SHARED, raw_mail("post"))
        await deliver(client, OTHER_SHARED, raw_mail("bygg"))
        release = asyncio.Event()
        path = f"/v1.0/users/{SHARED}/messages"
        holding = [
            asyncio.create_task(
                client.patch(
                    f"{path}/{message}",
                    content=held_body(release),
                    headers={"Content-Type": "application/json"},
                )
            )
            for _ in range(4)
        ]

        async def four_in_flight() -> bool:
            return in_flight.get(SHARED) == 4

        await wait_until(four_in_flight)
        refused = await client.get(path)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "ApplicationThrottled"
        assert "MailboxConcurrency" in refused.json()["error"]["message"]

        other = (
            await make_graph_client(limited.graph_url).users.by_user_id(OTHER_SHARED).messages.get()
        )
        assert other is not None and [m.subject for m in other.value or []] == ["bygg"]

        # msgraph-sdk's first try is refused while the four are held, its retry after
        # Retry-After (once they are released) is answered.
        retried = asyncio.create_task(
            make_graph_client(limited.graph_url).users.by_user_id(SHARED).messages.get()
        )

        async def refused_twice() -> bool:
            return log.by_status["429"] == 2

        await wait_until(refused_twice, within=30)
        release.set()
        assert [r.status_code for r in await asyncio.gather(*holding)] == [200] * 4
        answer = await retried
        assert answer is not None and [m.subject for m in answer.value or []] == ["post"]
        assert log.by_status["429"] == 2
        assert log.by_mailbox[OTHER_SHARED] == 1


def test_the_request_limit_counts_ten_minutes_per_mailbox() -> None:
    limits = MailboxLimits(Limits(requests=3, window_seconds=600.0))
    assert [limits.admit(SHARED, 0, now) for now in (0.0, 1.0, 2.0)] == [None] * 3
    refused = limits.admit(SHARED, 0, 100.0)
    assert refused is not None and refused.retry_after == 500
    assert limits.admit(OTHER_SHARED, 0, 100.0) is None
    assert limits.admit(SHARED, 0, 600.0) is None
    assert limits.admit(SHARED, 4, 1000.0) is not None


def test_limits_are_off_unless_asked_for() -> None:
    assert limits_from_env({}) is None
    assert limits_from_env({ENV: "off"}) is None
    assert limits_from_env({ENV: ON}) == Limits(requests=10_000, window_seconds=600.0, concurrent=4)
    with pytest.raises(ValueError, match=ENV):
        limits_from_env({ENV: "on"})
