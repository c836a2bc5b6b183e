"""Sakspost's Prometheus metrics: every family is defined here, once, and nowhere else.

Each service serves them at `/metrics` on its HTTP port (`ServiceApp`), in the Prometheus text
format, beside the Python process's own (`process_*`, `python_*`). Names and labels follow the
Prometheus conventions: a unit suffix (`_seconds`), `_total` on counters (the client adds it), and
labels with a small, known set of values: a service, an event type, a consumer's durable name, a
department of the organisation file, a Graph operation, an outcome. Never a mailbox of a person, a
case id or a subject: a label value is stored for as long as the series lives.

Deploy alerts and the Grafana dashboard name these families (`deploy/base/monitoring/`); `make
lint` checks that every name they use is one defined here.
"""

from __future__ import annotations

import contextlib

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.registry import Collector

# Handler latency in seconds: a classified mail takes milliseconds, an archived one seconds, one
# waiting out a throttled Graph a minute or more.
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# How a delivery of a message ended (`retry.py`).
OUTCOME_OK = "ok"
OUTCOME_RETRIED = "retried"
OUTCOME_DEAD_LETTERED = "dead_lettered"
# The status label of an HTTP request that got no answer (refused, timed out, cut off).
NO_ANSWER = "0"

EVENTS_HANDLED = Counter(
    "sakspost_events_handled",
    "Deliveries of events to a service's consumers, by how each ended "
    "(ok; retried: failed, redelivered later; dead_lettered: given up, in the dead-letter stream)",
    ["service", "event", "outcome"],
    registry=REGISTRY,
)
HANDLER_SECONDS = Histogram(
    "sakspost_handler_seconds",
    "Time a service's handler took for one delivery of an event, whatever its outcome",
    ["service", "event"],
    buckets=HANDLER_BUCKETS,
    registry=REGISTRY,
)
CONSUMER_PENDING = Gauge(
    "sakspost_consumer_pending",
    "Messages a durable consumer has not yet been given (JetStream's num_pending), read at scrape",
    ["consumer"],
    registry=REGISTRY,
)
CONSUMER_ACK_PENDING = Gauge(
    "sakspost_consumer_ack_pending",
    "Messages a durable consumer was given and has not yet acknowledged (num_ack_pending)",
    ["consumer"],
    registry=REGISTRY,
)
GRAPH_REQUESTS = Counter(
    "sakspost_graph_requests",
    "Requests to Microsoft Graph by operation and HTTP status (429: throttled; 0: no answer)",
    ["operation", "status"],
    registry=REGISTRY,
)
WEBSAK_REQUESTS = Counter(
    "sakspost_websak_requests",
    "Requests to the WebSak+ Integration API by operation and HTTP status (0: no answer)",
    ["operation", "status"],
    registry=REGISTRY,
)
WEBHOOK_ITEMS = Counter(
    "sakspost_webhook_items",
    "Change notifications received on Graph's webhook, by how each was judged "
    "(accepted, forged, unknown_subscription, malformed)",
    ["outcome"],
    registry=REGISTRY,
)
# A gauge without labels is always exported: these two are registered only by the service that
# reads them (`export`), so no other service reports a 0 it never read.
ARCHIVE_OLDEST_PENDING_SECONDS = Gauge(
    "sakspost_archive_oldest_pending_seconds",
    "Age of the oldest archival mail this websak replica is still filing (0: none)",
    registry=None,
)
SUBSCRIPTION_ACTIVE = Gauge(
    "sakspost_subscription_active",
    "1 while a department's shared mailbox has a live Graph subscription, 0 while it has none",
    ["department"],
    registry=REGISTRY,
)
SUBSCRIPTION_EXPIRY_SECONDS = Gauge(
    "sakspost_subscription_expiry_seconds",
    "Seconds until the Graph subscription of a department's shared mailbox expires",
    ["department"],
    registry=REGISTRY,
)
NOTICES = Counter(
    "sakspost_notices",
    "Notices (assignments, alerts, digests) by channel and outcome (sent; failed: that channel "
    "failed and the next was tried; undeliverable: no channel could, by the first channel)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
DEAD_LETTERS = Gauge(
    "sakspost_dead_letters",
    "Messages in the dead-letter stream, read at scrape (each waits for a person)",
    registry=None,
)
OWNED_BY_ONE_SERVICE: tuple[Collector, ...] = (ARCHIVE_OLDEST_PENDING_SECONDS, DEAD_LETTERS)


def export(collector: Collector) -> None:
    """Serve one of `OWNED_BY_ONE_SERVICE` at this process's `/metrics`."""
    with contextlib.suppress(ValueError):  # registered already: a test builds a service twice
        REGISTRY.register(collector)


def event_of(subject: str) -> str:
    """The event type a subject carries, as a label: `sakspost.mail.received.teknisk` is
    `mail.received`. The department and any further tokens are left out (a bounded label)."""
    tokens = subject.split(".")
    if len(tokens) >= 3 and tokens[0] == "sakspost":
        return f"{tokens[1]}.{tokens[2]}"
    return "other"
