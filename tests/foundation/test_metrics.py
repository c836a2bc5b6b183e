"""The pure parts of the metrics: Graph operation labels, the archive's pending age, the event
label, subscription gauges. The running stack's `/metrics`: tests/e2e/test_pipeline.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from services.common.graphmetrics import graph_operation
from services.common.metrics import event_of
from services.ingest.notifications import Judged, count_judged
from services.ingest.state import SubscriptionRecord
from services.ingest.upkeep import report_subscriptions
from services.websak.pending import PendingArchive

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PERSON = "ola.nordmann@ha.kommune.no"
GUID = "4f1c2d3e-aaaa-bbbb-cccc-0123456789ab"


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        (
            "get",
            f"/v1.0/users/{PERSON}/messages/AAMkAGI2=/$value",
            "GET /v1.0/users/{id}/messages/{id}/$value",
        ),
        (
            "GET",
            f"/v1.0/users/{GUID}/mailFolders/inbox/messages/delta()",
            "GET /v1.0/users/{id}/mailFolders/{id}/messages/delta()",
        ),
        ("POST", "/v1.0/subscriptions", "POST /v1.0/subscriptions"),
        ("PATCH", f"/v1.0/subscriptions/{GUID}", "PATCH /v1.0/subscriptions/{id}"),
        ("POST", "/v1.0/users/post@ha.kommune.no/sendMail", "POST /v1.0/users/{id}/sendMail"),
    ],
)
def test_a_graph_operation_is_its_span_name_without_an_address_or_id(
    method: str, path: str, operation: str
) -> None:
    assert graph_operation(method, path) == operation


def test_the_event_label_is_the_events_kind_without_its_department() -> None:
    assert event_of("sakspost.mail.received.teknisk") == "mail.received"
    assert event_of("sakspost.alert.dead_letter.post") == "alert.dead_letter"
    assert event_of("somewhere.else") == "other"


def test_the_oldest_pending_mail_ages_until_finished_and_is_forgotten_when_another_has_it() -> None:
    pending = PendingArchive(forget_after=timedelta(minutes=11))
    assert pending.oldest_seconds(NOW) == 0
    pending.trying("a", NOW - timedelta(hours=2), NOW - timedelta(minutes=1))
    pending.trying("b", NOW - timedelta(minutes=5), NOW)
    assert pending.oldest_seconds(NOW) == 2 * 3600
    pending.finished("a")
    assert pending.oldest_seconds(NOW) == 300
    # Not tried here for longer than any retry: another replica has it (or finished it).
    assert pending.oldest_seconds(NOW + timedelta(minutes=12)) == 0


def test_subscription_gauges_per_department_and_no_expiry_without_a_live_one() -> None:
    live = SubscriptionRecord(
        id="s1", mailbox="a@x.no", client_state="c", expires=NOW + timedelta(hours=2)
    )
    dead = live.model_copy(update={"expires": NOW - timedelta(minutes=1)})
    report_subscriptions(["m_live", "m_dead", "m_none"], {"m_live": live, "m_dead": dead}, NOW)

    def sample(name: str, department: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"department": department})

    assert sample("sakspost_subscription_active", "m_live") == 1
    assert sample("sakspost_subscription_expiry_seconds", "m_live") == 7200
    for department in ("m_dead", "m_none"):
        assert sample("sakspost_subscription_active", department) == 0
        assert sample("sakspost_subscription_expiry_seconds", department) is None


def test_each_webhook_item_is_counted_once_by_its_outcome() -> None:
    def forged() -> float:
        return REGISTRY.get_sample_value("sakspost_webhook_items_total", {"outcome": "forged"}) or 0

    before = forged()
    count_judged(Judged(accepted=[], dropped={"forged": 2, "malformed": 1}))
    assert forged() == before + 2
