"""Pure parts of the benchmark and the fault plan: percentiles, stage times, Graph counts, mail
copies and the seeded schedule."""

from __future__ import annotations

import pytest

from devtools.bench.graphlog import MESSAGE_READ, MIME_READ, WRITE_BACK, graph_figures
from devtools.bench.stats import percentile, summary
from devtools.bench.timeline import Timeline
from devtools.chaos.schedule import FaultKind, plan
from devtools.harness.mail import with_message_id

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile([3.0], 0.99) == 3.0
    assert summary(values, "x")["x.max"] == 100


def test_stage_times_come_from_first_sightings() -> None:
    timeline = Timeline.build(
        {"m1": 10.0}, {"c1": "m1"}, {("received", "c1"): 10.1, ("routed", "c1"): 10.5}
    )
    assert [round(v) for v in timeline.between("delivered", "routed")] == [500]
    assert timeline.between("routed", "archived") == []


def test_graph_calls_are_split_per_mail() -> None:
    requests = {
        "total": 12,
        "byRoute": {MESSAGE_READ: 4, MIME_READ: 4, WRITE_BACK: 4},
        "byMailbox": {"post@x": 9, "bygg@x": 3},
        "byStatus": {"200": 11, "429": 1},
    }
    figures = graph_figures(requests, {"queued": 8}, mails=4)
    assert figures["graph.reads_per_mail"] == 2.0
    assert figures["graph.throttled"] == 1
    assert figures["graph.busiest_mailbox_requests"] == 9
    assert figures["graph.own_write_notifications_per_mail"] == 1.0
    assert figures["graph.reads_caused_by_write_backs"] == 0


def test_a_copy_gets_exactly_one_new_message_id() -> None:
    raw = b"Subject: a\r\nMessage-ID:\r\n <old@x>\r\nFrom: b@c\r\n\r\nbody\r\n"
    copy = with_message_id(raw, "new@x")
    assert copy == b"Message-ID: <new@x>\r\nSubject: a\r\nFrom: b@c\r\n\r\nbody\r\n"


def test_the_fault_plan_is_repeatable_and_within_the_run() -> None:
    first = plan(7, 180, ["router", "ingest"], ["post@x"], 6.0)
    assert first == plan(7, 180, ["router", "ingest"], ["post@x"], 6.0)
    assert all(0 < fault.at < 180 and fault.at + fault.seconds <= 180 for fault in first)


def test_even_a_short_run_meets_every_kind_of_fault() -> None:
    kinds = {fault.kind for fault in plan(10, 180, ["router"], ["post@x"], 6.0)}
    assert kinds == set(FaultKind) - {FaultKind.LOSE_NATS_NODE}
    nodes = ("sakspost-1", "sakspost-2", "sakspost-3")
    cluster = plan(10, 180, ["router"], ["post@x"], 6.0, nodes)
    assert {fault.kind for fault in cluster} == set(FaultKind)
    assert {f.target for f in cluster if f.kind is FaultKind.LOSE_NATS_NODE} <= set(nodes)


# The start of seed 10's plan for a single node, as it was before node losses were added.
FIRST_OF_SEED_10 = [
    (6.92, "graph_drop_notifications"),
    (9.3, "graph_throttle"),
    (9.58, "archive_fail"),
]


def test_a_single_node_plan_is_what_it_was_before_node_losses() -> None:
    # The seeds of earlier runs (README) still give the same plan.
    first = plan(10, 180, ["router"], ["post@x"], 6.0)
    assert [(f.at, f.kind.value) for f in first[:3]] == FIRST_OF_SEED_10
