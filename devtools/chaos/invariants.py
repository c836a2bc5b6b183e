"""What must hold after any storm of faults (pure: events, archive and dead letters in; violations
out).

For every mail delivered (known by its Message-ID):
- exactly one `received`, exactly one `classified` (by the classifier; a human's correction would be
  another) and at least one `routed`;
- its final state: routed with an assignee unless privat; when arkivverdig, exactly one `archived`,
  a `completed` and exactly one journalpost in the archive;
- its assignee told exactly once (one `assigned` notice per case and assignee).
For the archive as a whole: no journalpost for a mail that is not arkivverdig or not delivered.
For the dead-letter stream: every letter has its `dead_letter` alert (the same deterministic id the
consumer gives it), so nothing is parked in silence.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from schemas.identity import make_event_id
from services.websak.markers import MARKER_PATTERN


@dataclass(frozen=True)
class DeadLetter:
    msg_id: str
    data: bytes


@dataclass(frozen=True)
class Outcome:
    mails: int
    cases: int
    violations: list[str]


def expected_alert_id(letter: DeadLetter) -> str:
    """The event id of the alert the consumer publishes with a dead letter (see `consumer.py`)."""
    case_id = ""
    try:
        payload: Any = json.loads(letter.data)
        value = payload.get("case_id") if isinstance(payload, dict) else None
        case_id = value if isinstance(value, str) else ""
    except ValueError:
        pass
    return make_event_id("alert", case_id, "dead_letter", letter.msg_id)


def _journalposts_by_case(journalposts: list[dict[str, Any]]) -> Counter[str]:
    """Journalposts per case id, read from the `[SP-<case id>-<tag>]` marker in their titles."""
    found: Counter[str] = Counter()
    for record in journalposts:
        for case in MARKER_PATTERN.findall(str(record.get("tittel1") or "")):
            found[case] += 1
    return found


def check(
    message_ids: set[str],
    events: list[dict[str, Any]],
    journalposts: list[dict[str, Any]],
    dead_letters: list[DeadLetter],
) -> Outcome:
    violations: list[str] = []
    case_of: dict[str, set[str]] = defaultdict(set)
    counts: Counter[tuple[str, str]] = Counter()
    last_routed: dict[str, dict[str, Any]] = {}
    notices: Counter[tuple[str, str]] = Counter()
    alert_ids = set()
    for event in events:
        kind, case = event.get("type"), event.get("case_id")
        if kind == "alert":
            alert_ids.add(event.get("event_id"))
        if not isinstance(case, str):
            continue
        if kind == "received" and event.get("internet_message_id") in message_ids:
            case_of[event["internet_message_id"]].add(case)
        if kind == "classified" and event.get("by") is not None:
            continue  # a human's correction, not the classifier's verdict
        if kind == "notice_sent" and event.get("kind") == "assigned":
            notices[(case, event["recipient"]["address"])] += 1
        if kind == "routed":
            last_routed[case] = event
        counts[(str(kind), case)] += 1

    for message_id in sorted(message_ids):
        if len(case_of[message_id]) != 1:
            violations.append(f"{message_id}: {len(case_of[message_id])} cases received")
    cases = {case for found in case_of.values() for case in found}
    archival = {c for c in cases if last_routed.get(c, {}).get("mail_class") == "arkivverdig"}
    filed = _journalposts_by_case(journalposts)

    for case in sorted(cases):
        for kind, wanted in (("received", 1), ("classified", 1)):
            if counts[(kind, case)] != wanted:
                violations.append(f"{case}: {counts[(kind, case)]} {kind} events (want {wanted})")
        routed = last_routed.get(case)
        if routed is None:
            violations.append(f"{case}: never routed (lost or stuck)")
            continue
        assignee = routed.get("assignee")
        if assignee is None and routed.get("mail_class") != "privat":
            violations.append(f"{case}: {routed.get('mail_class')} mail left without an assignee")
        if assignee is not None and notices[(case, assignee["address"])] != 1:
            told = notices[(case, assignee["address"])]
            violations.append(f"{case}: assignee told {told} times (want 1)")
        if case in archival:
            if counts[("archived", case)] != 1:
                violations.append(f"{case}: {counts[('archived', case)]} archived events (want 1)")
            if counts[("completed", case)] < 1:
                violations.append(f"{case}: archived but never completed (stuck)")
            if filed[case] != 1:
                violations.append(f"{case}: {filed[case]} journalposts (want 1)")
        elif filed[case] or counts[("archived", case)]:
            violations.append(f"{case}: archived although not arkivverdig")

    for letter in dead_letters:
        if expected_alert_id(letter) not in alert_ids:
            violations.append(f"dead letter {letter.msg_id} has no dead_letter alert")
    return Outcome(mails=len(message_ids), cases=len(cases), violations=violations)


def violation_kinds(violations: list[str]) -> Counter[str]:
    """Violations counted by what went wrong, without the case or mail they name."""
    return Counter(violation.split(": ", 1)[-1] for violation in violations)
