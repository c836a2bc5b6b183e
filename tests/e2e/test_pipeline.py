"""The whole pipeline through the running stack (`sakspost up`): sample mail delivered over SMTP to
the Graph emulator flows through ingest, classifier, router, websak and notifier.

Checks the end-to-end acceptance of issues 5–8: one received, one classified and a routed event per
mail; the labelled department; one assignee, visible in Outlook; exactly one journalpost per
archival mail, then Ferdig; exactly one notice per assigned mail (R9a, R11, R12, R13). Then every
service's `/metrics` after that flow (issue 17): the counts match the mail sent, a throttled mailbox
raises Graph's 429 count and a forged webhook item the `forged` count; and one archival mail's
spans (console exporter) form one trace from the webhook to its journalpost and notice."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.received import official_recipient
from services.ingest.webhook import NOTIFICATIONS_PATH
from tests.conftest import SAMPLES, scaled
from tests.support.events import event_log
from tests.support.metrics import scrape, scrape_until
from tests.support.stack import RunningStack, running_stack
from tests.support.traces import Span, Traces

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration


def _labelled_shared_mail(org: Organisation, count: int) -> list[tuple[Path, str, dict[str, Any]]]:
    chosen = []
    for line in (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        path = SAMPLES / label["file"]
        mailbox = official_recipient(parse_mail(path.read_bytes()), org)
        if label["mailbox_kind"] == "shared" and mailbox is not None:
            chosen.append((path, mailbox, label))
    # Spread the selection over the corpus so every class and department appears.
    step = max(1, len(chosen) // count)
    return chosen[::step][:count]


def _latest(events: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for _, payload in events:
        latest[payload["case_id"]] = payload
    return latest


async def test_samples_flow_through_the_whole_stack(tmp_path: Path, org: Organisation) -> None:
    mails = _labelled_shared_mail(org, scaled(141, minimum=16))
    async with (
        # Spans go to the services' log files, to follow one mail's trace below.
        running_stack(tmp_path / "stack", {"SAKSPOST_OTEL_EXPORTER": "console"}) as stack,
        event_log(stack.settings(), "sakspost.>") as log,
    ):
        stack.deliver([(path, mailbox) for path, mailbox, _ in mails])
        received = await log.wait_for(lambda _s, p: p["type"] == "received", len(mails), 120)
        cases = {p["case_id"] for _, p in received}
        await log.wait_for(lambda _s, p: p["type"] == "classified", len(mails), 120)
        classified = _latest(log.matching(lambda _s, p: p["type"] == "classified"))
        archival = {c for c, p in classified.items() if p["mail_class"] == "arkivverdig"}
        await log.wait_for_every_case("routed", cases, 120)
        await log.wait_for_every_case("archived", archival, 180)
        await log.wait_for_every_case(
            "completed", archival, 120, predicate=lambda p: p.get("via") == "archive"
        )
        routed = _latest(log.matching(lambda _s, p: p["type"] == "routed"))
        assigned = {c for c, p in routed.items() if p["assignee"] is not None}
        await log.wait_for_every_case(
            "notice_sent", assigned, 120, predicate=lambda p: p.get("kind") == "assigned"
        )
        async with httpx.AsyncClient(base_url=stack.websak_url) as client:
            archive_state = (await client.get("/_standin/state")).json()
        # Operations' view of the same run (issue 17), on the stack that is up anyway.
        await _metrics_tell_what_happened(stack, org, len(mails), len(assigned))

    # One received per mail, with the MIME's SHA-256 exactly as delivered (R13).
    assert len(received) == len(mails) == len(cases)
    digests = {p["mime_sha256"] for _, p in received}
    assert digests == {hashlib.sha256(path.read_bytes()).hexdigest() for path, _, _ in mails}
    counts = Counter((p["type"], p["case_id"]) for _, p in log.seen if "case_id" in p)
    assert all(counts[("classified", case)] == 1 for case in cases)

    # The labelled department (R5, post@ redistribution) for at least 90 %.
    by_digest = {hashlib.sha256(path.read_bytes()).hexdigest(): label for path, _, label in mails}
    case_label = {p["case_id"]: by_digest[p["mime_sha256"]] for _, p in received}
    right = sum(routed[c]["department"] == case_label[c]["department"] for c in cases)
    assert right / len(cases) >= 0.90

    # Every mail to be handled has one assignee (R11); private mail is closed or confirmed.
    for case in cases:
        if routed[case]["mail_class"] != "privat":
            assert routed[case]["assignee"] is not None, case

    # Exactly one archived event and Ferdig per archival mail (R9a, R12).
    assert all(counts[("archived", case)] == 1 for case in archival)
    assert not any(counts[("archived", case)] for case in cases - archival)
    journalposts = archive_state.get("journalposts", archive_state.get("journalposter", []))
    assert len(journalposts) == len(archival)

    # Exactly one notice per assigned mail to its assignee (R11).
    notices = Counter(
        (p["case_id"], p["recipient"]["address"])
        for _, p in log.seen
        if p.get("type") == "notice_sent" and p["kind"] == "assigned"
    )
    for case in assigned:
        assert notices[(case, routed[case]["assignee"]["address"])] == 1, case

    # One archival mail followed in one trace from Graph's notification to its journalpost and
    # notice, and a log line of its handling that names the trace (the stack has stopped: every
    # span is written).
    _assert_traced(Traces.read(tmp_path / "stack" / "logs"), log.seen, archival & assigned)


def _case_event_ids(seen: list[tuple[str, dict[str, Any]]], case: str, kind: str) -> set[str]:
    return {p["event_id"] for _, p in seen if p.get("case_id") == case and p["type"] == kind}


def _webhook_root(traces: Traces, span: Span) -> Span | None:
    chain = traces.ancestors(span)
    root = chain[-1] if chain else None
    if root and root.service == "ingest" and root.name == "POST /graph/notifications":
        return root
    return None


def _assert_traced(traces: Traces, seen: list[tuple[str, dict[str, Any]]], cases: set[str]) -> None:
    """For the first of `cases` that entered by the webhook (delta may find a mail first): the
    webhook span is the root of ingest's publish and of every service's handling, all in one
    trace, down to websak's WebSak calls and the notifier's sendMail."""
    for case in sorted(cases):
        (received,) = _case_event_ids(seen, case, "received")
        classifying = traces.processing("classifier", received)
        if classifying and _webhook_root(traces, classifying[0]) is not None:
            break
    else:
        raise AssertionError(f"no archival mail's handling descends from a webhook span: {cases}")
    trace_id = classifying[0].trace_id
    assert any(
        span.service == "ingest" and span.name.startswith("sakspost.mail.received.")
        for span in traces.ancestors(classifying[0])
    ), "ingest's publish of received is not the classifier's parent"
    (classified,) = _case_event_ids(seen, case, "classified")
    routed = _case_event_ids(seen, case, "routed")
    handling = (
        classifying
        + traces.processing("router", classified)
        + [span for event in routed for span in traces.processing("websak", event)]
        + [span for event in routed for span in traces.processing("notifier", event)]
    )
    assert {span.service for span in handling} == {"classifier", "router", "websak", "notifier"}
    below = [child for span in handling for child in traces.descendants(span)]
    mail_spans = handling + below
    assert {span.trace_id for span in mail_spans} == {trace_id}
    names = {(span.service, span.name) for span in below}
    assert ("websak", "WebSak create_journalpost") in names, names
    assert ("notifier", "POST /v1.0/users/{id}/sendMail") in names, names
    span_ids = {span.span_id for span in mail_spans}
    assert any(
        line.fields.get("trace_id") == trace_id and line.fields.get("span_id") in span_ids
        for line in traces.lines
    ), "no log line of the mail's handling names its trace"


SERVICE_PORTS = {
    "ingest": "SAKSPOST_INGEST_PORT",
    "classifier": "SAKSPOST_CLASSIFIER_PORT",
    "router": "SAKSPOST_ROUTER_PORT",
    "websak": "SAKSPOST_WEBSAK_SERVICE_PORT",
    "notifier": "SAKSPOST_NOTIFIER_PORT",
}


async def _metrics_tell_what_happened(
    stack: RunningStack, org: Organisation, mails: int, assigned: int
) -> None:
    scrapes = {name: await scrape(stack.port(port)) for name, port in SERVICE_PORTS.items()}
    handled = "sakspost_events_handled_total"
    # Each stage handled each mail once, and timed each delivery it handled.
    for service, event in (
        ("classifier", "mail.received"),
        ("router", "mail.classified"),
        ("websak", "mail.routed"),
    ):
        found = scrapes[service]
        assert found.value(handled, service=service, event=event, outcome="ok") == mails, service
        assert found.value(handled, service=service, outcome="dead_lettered") == 0
        deliveries = found.value(handled, service=service, event=event)
        timed = found.value("sakspost_handler_seconds_count", service=service, event=event)
        assert timed == deliveries
    # Lag: every consumer is there, and the mail stages have nothing left.
    for service in ("classifier", "router", "websak"):
        lag = scrapes[service]
        assert lag.series("sakspost_consumer_pending"), service
        assert lag.value("sakspost_consumer_pending") == 0, service
        assert lag.value("sakspost_consumer_ack_pending") == 0, service
    ingest = scrapes["ingest"]
    assert ingest.value("sakspost_webhook_items_total", outcome="accepted") >= mails
    assert ingest.value(
        "sakspost_graph_requests_total", operation="GET /v1.0/users/{id}/messages/{id}/$value"
    ) >= (mails)
    for department in org.departments:
        assert ingest.value("sakspost_subscription_active", department=department) == 1
        assert ingest.value("sakspost_subscription_expiry_seconds", department=department) > 0
    websak = scrapes["websak"]
    assert websak.value("sakspost_archive_oldest_pending_seconds") == 0
    assert (
        sum(
            v
            for n, labels, v in websak.samples
            if n == "sakspost_websak_requests_total" and labels["status"].startswith("2")
        )
        > 0
    )
    notifier = scrapes["notifier"]
    assert notifier.value("sakspost_notices_total", outcome="sent") >= assigned
    assert notifier.series("sakspost_dead_letters")
    assert notifier.value("sakspost_dead_letters") == 0

    ingest_port = stack.port("SAKSPOST_INGEST_PORT")
    async with httpx.AsyncClient(base_url=stack.graph_url, trust_env=False) as graph:
        # A notification for a real subscription with someone else's clientState is forged.
        subscription = (await graph.get("/v1.0/subscriptions")).json()["value"][0]
        forged = {
            "value": [
                {
                    "subscriptionId": subscription["id"],
                    "clientState": "not-the-secret",
                    "changeType": "created",
                    "resource": "users/x/messages/y",
                    "resourceData": {"id": "y"},
                }
            ]
        }
        before = ingest.value("sakspost_webhook_items_total", outcome="forged")
        answer = await graph.post(
            f"http://127.0.0.1:{ingest_port}{NOTIFICATIONS_PATH}", json=forged
        )
        assert answer.status_code == 202  # as Graph expects: a forged item is dropped quietly
        after = await scrape(ingest_port)
        assert after.value("sakspost_webhook_items_total", outcome="forged") == before + 1

        # Graph throttles a mailbox: ingest's reads of it are answered 429 until it lifts.
        path, mailbox, _ = _labelled_shared_mail(org, 1)[0]
        throttled = {"status": "429"}
        before_429 = after.value("sakspost_graph_requests_total", **throttled)
        faults = {"throttle": 1.0, "retryAfter": 1}
        assert (await graph.put(f"/_emulator/mailboxes/{mailbox}/faults", json=faults)).is_success
        stack.deliver([(path, mailbox)])
        await scrape_until(
            ingest_port,
            lambda found: found.value("sakspost_graph_requests_total", **throttled) > before_429,
        )
        assert (await graph.delete(f"/_emulator/mailboxes/{mailbox}/faults")).is_success
