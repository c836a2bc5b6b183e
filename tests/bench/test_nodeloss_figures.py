"""What a node loss cost, computed from a run's events (pure): latencies by the phase in which a
mail came (healthy, electing new leaders, on two nodes, restarted), the longest time nothing was
routed, and the ratios to the healthy phase."""

from __future__ import annotations

from devtools.bench.nodeloss import node_loss_figures
from devtools.chaos.natsfaults import NodeLoss
from devtools.harness.events import Seen

HEALTHY, KILLED, RESTARTED = 50.0, 100.0, 130.0


def _mail(case: str, received: float, routed: float) -> list[Seen]:
    """A mail's `received` and `routed` (its Message-ID is its case id, for short)."""
    payload = {"type": "received", "case_id": case, "internet_message_id": case}
    return [
        Seen(0.0, "sakspost.mail.received.post", payload, received),
        Seen(0.0, "sakspost.mail.routed.post", {"type": "routed", "case_id": case}, routed),
    ]


def test_latency_is_taken_by_phase_from_the_streams_timestamps() -> None:
    events = [
        *_mail("warm", 10.0, 19.0),  # before the healthy phase: not counted
        *_mail("h1", 60.0, 60.1),
        *_mail("h2", 70.0, 70.2),
        *_mail("d1", 101.0, 108.0),  # received while electing, routed after the election
        *_mail("d2", 120.0, 120.4),  # received on two nodes
        *_mail("r1", 140.0, 140.1),
        *_mail("lost", 141.0, 141.0)[:1],  # never routed: no latency
    ]
    loss = NodeLoss("sakspost-2", 7, KILLED, 106.5, RESTARTED, 132.0)
    # Each accepted by SMTP 0.1 s before it was received, except one held up behind the loss.
    delivered = {case: at - 0.1 for case, at in [("h1", 60.0), ("h2", 70.0), ("d2", 120.0)]}
    delivered["d1"] = KILLED - 0.5

    figures = node_loss_figures(events, delivered, loss, HEALTHY)

    assert figures["nodeloss.received_to_routed_ms.healthy.count"] == 2
    assert figures["nodeloss.received_to_routed_ms.healthy.p95"] == 200
    assert figures["nodeloss.received_to_routed_ms.electing.p95"] == 7000
    assert figures["nodeloss.received_to_routed_ms.two_nodes.p95"] == 400
    assert figures["nodeloss.received_to_routed_ms.restarted.count"] == 1
    assert figures["nodeloss.ratio.received_to_routed.electing_to_healthy.p95"] == 35
    assert figures["nodeloss.ratio.received_to_routed.two_nodes_to_healthy.p95"] == 2
    # By delivery, d1 came while healthy and took 8.5 s end to end.
    assert figures["nodeloss.delivered_to_routed_ms.healthy.max"] == 8500
    assert figures["nodeloss.delivered_to_routed_ms.electing.count"] == 0
    assert figures["nodeloss.seconds_to_new_leaders"] == 6.5
    assert figures["nodeloss.seconds_to_current"] == 2
    assert figures["nodeloss.groups_led"] == 7


def test_the_longest_time_nothing_was_routed_is_taken_in_each_phase() -> None:
    # A mail routed every half second, except for 7 s after the kill.
    received = [50.0 + n / 2 for n in range(160) if not KILLED < 50.0 + n / 2 < KILLED + 7]
    events = [seen for n, at in enumerate(received) for seen in _mail(f"c{n}", at, at + 0.1)]
    loss = NodeLoss("sakspost-3", 1, KILLED, KILLED + 6.0, RESTARTED, RESTARTED + 1)

    figures = node_loss_figures(events, {}, loss, HEALTHY)

    assert figures["nodeloss.routing_gap_seconds.healthy"] == 0.5
    assert figures["nodeloss.routing_gap_seconds.node_lost"] == 7.0


def test_a_bound_that_passed_gives_no_figure() -> None:
    loss = NodeLoss("sakspost-1", 3, KILLED, None, RESTARTED, None)

    events = _mail("h1", 60.0, 60.1) + _mail("d1", 120.0, 131.0)

    figures = node_loss_figures(events, {}, loss, HEALTHY)

    assert "nodeloss.seconds_to_new_leaders" not in figures
    assert "nodeloss.seconds_to_current" not in figures
    # No new leaders: the election is taken to have lasted until the restart.
    assert figures["nodeloss.received_to_routed_ms.electing.count"] == 1
    assert figures["nodeloss.received_to_routed_ms.two_nodes.count"] == 0
