"""What a hostile caller can make the webhooks do (issue 16, finding 7), counted, never timed: a
body of empty items is refused before it is parsed, junk items cost no validation, a batch has a
cap, bodies held at once have a budget, and the validation token echo has a cap."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.requests import Request

from services.ingest.notifications import (
    KnownSubscription,
    NotificationItem,
    Refused,
    judge,
    parse_batch,
)
from services.ingest.webhook import MAX_VALIDATION_TOKEN, BodyBudget, handshake

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
LIVE = KnownSubscription("sub-1", "post", "post@ha.kommune.no", "s3cret", NOW + timedelta(days=1))
EMPTY_ITEMS = b'{"value": [' + b",".join([b"{}"] * (4 * 1024 * 1024 // 3)) + b"]}"


class Counter:
    def __init__(self) -> None:
        self.calls = 0


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    real = json.loads

    def counted(body: Any) -> Any:
        counter.calls += 1
        return real(body)

    monkeypatch.setattr(json, "loads", counted)  # the module notifications parses with
    return counter


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    real = NotificationItem.model_validate

    def counted(raw: Any) -> NotificationItem:
        counter.calls += 1
        return real(raw)

    monkeypatch.setattr(NotificationItem, "model_validate", counted)
    return counter


def test_four_mib_of_empty_items_is_refused_before_parsing(parses: Counter) -> None:
    with pytest.raises(Refused) as refused:
        parse_batch(EMPTY_ITEMS, max_depth=16, max_items=1000)
    assert refused.value.status == 413
    assert parses.calls == 0


def test_a_batch_over_the_cap_is_refused(parses: Counter) -> None:
    items = [{"subscriptionId": "sub-1", "clientState": "s3cret", "lifecycleEvent": "missed"}] * 11
    body = json.dumps({"value": items}).encode()
    assert len(parse_batch(body, max_depth=16, max_items=11).items) == 11
    with pytest.raises(Refused) as refused:
        parse_batch(body, max_depth=16, max_items=10)
    assert refused.value.status == 413


def test_junk_items_are_dropped_without_validation(validations: Counter) -> None:
    junk: list[Any] = [{}] * 1000 + [[], 1, None, {"subscriptionId": ["sub-1"]}]
    junk += [{"subscriptionId": f"forged-{n}", "clientState": "x"} for n in range(1000)]
    judged = judge(junk, {"sub-1": LIVE}, NOW)
    assert judged.accepted == []
    assert judged.dropped == {"malformed": 1004, "unknown_subscription": 1000}
    assert validations.calls == 0
    lifecycle = {"subscriptionId": "sub-1", "clientState": "s3cret", "lifecycleEvent": "missed"}
    assert len(judge([*junk, lifecycle], {"sub-1": LIVE}, NOW).accepted) == 1
    assert validations.calls == 1


def test_bodies_held_at_once_have_a_budget() -> None:
    budget = BodyBudget(100)
    with budget.hold() as first:
        first(60)
        with budget.hold() as second, pytest.raises(Refused) as refused:
            second(41)
        assert refused.value.status == 503
    with budget.hold() as again:
        again(100)  # what the first body held is given back when it is done


def _handshake(token: str) -> Any:
    query = f"validationToken={token}".encode()
    return handshake(Request({"type": "http", "query_string": query, "headers": []}))


def test_the_validation_token_is_echoed_as_text_up_to_its_cap() -> None:
    echoed = _handshake("<b>" + "x" * (MAX_VALIDATION_TOKEN - 7) + "</b>")
    assert echoed.body == b"<b>" + b"x" * (MAX_VALIDATION_TOKEN - 7) + b"</b>"
    assert echoed.headers["content-type"].startswith("text/plain")
    assert echoed.headers["x-content-type-options"] == "nosniff"
    refused = _handshake("<b>" + "x" * MAX_VALIDATION_TOKEN + "</b>")
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/plain")
    assert b"<b>" not in refused.body
    assert handshake(Request({"type": "http", "query_string": b"", "headers": []})) is None
