"""Subscriptions through msgraph-sdk: validation of both URLs, refusal, renewal, expiry,
clientState, lifecycle events, batching and retried delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.subscription import Subscription
from msgraph.graph_service_client import GraphServiceClient

from devtools.graph_emulator import RunningEmulator
from tests.graph_emulator.conftest import (
    SHARED,
    Listener,
    deliver,
    next_item,
    raw_mail,
    wait_until,
)

SECRET = "hemmeleg-klientstatus"


async def subscribe(
    graph: GraphServiceClient, listener: Listener, minutes: int = 4000
) -> Subscription:
    return await graph.subscriptions.post(
        Subscription(
            change_type="created,updated",
            notification_url=f"{listener.url}/notify?mailbox=post",
            lifecycle_notification_url=f"{listener.url}/lifecycle",
            resource=f"users/{SHARED}/mailFolders('Inbox')/messages",
            expiration_date_time=datetime.now(UTC) + timedelta(minutes=minutes),
            client_state=SECRET,
        )
    )


async def test_create_validates_both_urls_and_notifies_with_client_state(
    graph: GraphServiceClient, admin: httpx.AsyncClient, listener: Listener
) -> None:
    subscription = await subscribe(graph, listener)
    assert listener.validations == ["/notify", "/lifecycle"]
    message_id = await deliver(admin, SHARED, raw_mail("varsla"))
    note = await next_item(listener.notifications)
    assert note["subscriptionId"] == subscription.id
    assert note["clientState"] == SECRET
    assert note["changeType"] == "created"
    assert note["resourceData"]["id"] == message_id
    assert note["resource"].endswith(f"/Messages/{message_id}")


async def test_a_wrong_validation_answer_refuses_the_subscription(
    graph: GraphServiceClient, listener: Listener
) -> None:
    listener.echo_wrong_token = True
    with pytest.raises(APIError) as refused:
        await subscribe(graph, listener)
    assert refused.value.response_status_code == 400
    assert "validationToken" in refused.value.error.message
    assert (await graph.subscriptions.get()).value == []


async def test_short_lifetimes_are_raised_and_long_ones_refused(
    graph: GraphServiceClient, listener: Listener
) -> None:
    short = await subscribe(graph, listener, minutes=5)
    assert short.expiration_date_time - datetime.now(UTC) > timedelta(minutes=44)
    await graph.subscriptions.by_subscription_id(short.id).delete()
    with pytest.raises(APIError) as refused:
        await subscribe(graph, listener, minutes=10_081)
    assert refused.value.response_status_code == 400


async def test_renewal_extends_and_expiry_removes(
    graph: GraphServiceClient, admin: httpx.AsyncClient, listener: Listener
) -> None:
    subscription = await subscribe(graph, listener, minutes=60)
    later = datetime.now(UTC) + timedelta(minutes=3000)
    renewed = await graph.subscriptions.by_subscription_id(subscription.id).patch(
        Subscription(expiration_date_time=later)
    )
    assert abs(renewed.expiration_date_time - later) < timedelta(seconds=1)
    await graph.subscriptions.by_subscription_id(subscription.id).reauthorize.post()
    await admin.post("/_emulator/clock/advance", json={"seconds": 3001 * 60})

    async def gone() -> bool:
        remaining = await graph.subscriptions.get()
        return not remaining.value

    await wait_until(gone, within=5.0)


@pytest.mark.parametrize("event", ["reauthorizationRequired", "missed", "subscriptionRemoved"])
async def test_lifecycle_events_on_demand(
    graph: GraphServiceClient, admin: httpx.AsyncClient, listener: Listener, event: str
) -> None:
    subscription = await subscribe(graph, listener)
    response = await admin.post(
        f"/_emulator/subscriptions/{subscription.id}/lifecycle", json={"event": event}
    )
    assert response.status_code == 202
    note = await next_item(listener.lifecycle)
    assert note["lifecycleEvent"] == event
    assert note["clientState"] == SECRET
    assert note["subscriptionId"] == subscription.id
    remaining = [s.id for s in (await graph.subscriptions.get()).value]
    assert remaining == ([] if event == "subscriptionRemoved" else [subscription.id])


async def test_failed_delivery_is_retried_and_changes_are_batched(
    graph: GraphServiceClient, admin: httpx.AsyncClient, listener: Listener
) -> None:
    await subscribe(graph, listener)
    listener.refuse_next = 2
    ids = {await deliver(admin, SHARED, raw_mail(f"retry {n}")) for n in range(3)}
    received = {
        (await next_item(listener.notifications, within=3.0))["resourceData"]["id"] for _ in ids
    }
    assert received == ids
    assert max(listener.batches) > 1  # one POST carried several notifications
    stats = (await admin.get("/_emulator/notifications")).json()
    assert stats["failed_attempts"] == 2


async def test_an_unreachable_endpoint_ends_in_a_missed_lifecycle_event(
    graph: GraphServiceClient,
    admin: httpx.AsyncClient,
    listener: Listener,
    emulator: RunningEmulator,
) -> None:
    await subscribe(graph, listener)
    listener.refuse_next = 10_000  # the notification URL never accepts again ...
    await deliver(admin, SHARED, raw_mail("tapt"))
    note = await next_item(listener.lifecycle, within=5.0)  # ... until Graph gives up
    assert note["lifecycleEvent"] == "missed"
