"""Graph calls per mail from the emulator's request log and notification counts (pure).

With Graph's limits on in the emulator (`GRAPH_EMULATOR_LIMITS`), `graph.throttled` counts its 429
answers: more than 0 means Sakspost went past 4 requests at once or 10,000 in 10 minutes for one
mailbox. `graph.busiest_mailbox_requests` is the most any one mailbox received in the run.

In a benchmark nobody touches Outlook, so every change notification beyond the one `created` per
mail was caused by Sakspost's own write-backs; a mail read beyond one message GET and one MIME GET
per mail would be a read caused by them (ingest recognises its own writes by change key).
"""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator.limits import ENV, ON

# Every benchmark's emulator enforces Graph's limits per app and mailbox (its environment).
LIMITED = {ENV: ON}
MESSAGE_READ = "GET /v1.0/users/{user}/messages/{message}"
MIME_READ = "GET /v1.0/users/{user}/messages/{message}/$value"
WRITE_BACK = "PATCH /v1.0/users/{user}/messages/{message}"
SEND_MAIL = "POST /v1.0/users/{user}/sendMail"


def graph_figures(
    requests: dict[str, Any], notifications: dict[str, Any], mails: int
) -> dict[str, float]:
    routes: dict[str, int] = requests["byRoute"]
    reads = routes.get(MESSAGE_READ, 0) + routes.get(MIME_READ, 0)
    write_backs = routes.get(WRITE_BACK, 0)
    sends = routes.get(SEND_MAIL, 0)
    own_notifications = max(0, int(notifications["queued"]) - mails)
    other = int(requests["total"]) - reads - write_backs - sends

    def per_mail(value: int) -> float:
        return round(value / max(1, mails), 3)

    return {
        "graph.reads_per_mail": per_mail(reads),
        "graph.write_backs_per_mail": per_mail(write_backs),
        "graph.own_write_notifications_per_mail": per_mail(own_notifications),
        "graph.reads_caused_by_write_backs": float(
            max(0, routes.get(MESSAGE_READ, 0) - mails) + max(0, routes.get(MIME_READ, 0) - mails)
        ),
        "graph.send_mail_per_mail": per_mail(sends),
        "graph.other_requests_per_mail": per_mail(other),
        "graph.throttled": float(requests["byStatus"].get("429", 0)),
        "graph.busiest_mailbox_requests": float(max(requests["byMailbox"].values(), default=0)),
        "graph.throttled_or_failed": float(
            sum(n for status, n in requests["byStatus"].items() if int(status) >= 400)
        ),
    }
