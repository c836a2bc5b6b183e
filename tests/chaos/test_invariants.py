"""The invariant checker itself: a clean history passes, each kind of breakage is named."""

from __future__ import annotations

from typing import Any

from devtools.chaos.invariants import DeadLetter, check, expected_alert_id, violation_kinds
from services.websak.markers import filing_marker

ASSIGNEE = {"name": "Kari", "address": "kari@ha.kommune.no"}


def _history(case: str, message_id: str, mail_class: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "received", "case_id": case, "internet_message_id": message_id},
        {"type": "classified", "case_id": case, "by": None},
        {"type": "routed", "case_id": case, "mail_class": mail_class, "assignee": ASSIGNEE},
        {"type": "notice_sent", "case_id": case, "kind": "assigned", "recipient": ASSIGNEE},
    ]
    if mail_class == "arkivverdig":
        events += [{"type": "archived", "case_id": case}, {"type": "completed", "case_id": case}]
    return events


def _journalpost(case: str) -> dict[str, Any]:
    return {"tittel1": f"Søknad {filing_marker(case, b'chaos-invariant-tests')}"}


def test_a_clean_history_has_no_violation() -> None:
    events = _history("c1", "m1", "arkivverdig") + _history("c2", "m2", "offisiell")
    outcome = check({"m1", "m2"}, events, [_journalpost("c1")], [])
    assert outcome.violations == []
    assert outcome.cases == 2


def test_duplicates_losses_and_stuck_cases_are_named() -> None:
    duplicated = _history("c1", "m1", "arkivverdig")
    duplicated.append(duplicated[0])
    duplicated.append(duplicated[3])
    stuck = [e for e in _history("c2", "m2", "arkivverdig") if e["type"] != "completed"]
    violations = check(
        {"m1", "m2", "lost"}, duplicated + stuck, [_journalpost("c1")] * 2, []
    ).violations
    assert "lost: 0 cases received" in violations
    assert "c1: 2 received events (want 1)" in violations
    assert "c1: assignee told 2 times (want 1)" in violations
    assert "c1: 2 journalposts (want 1)" in violations
    assert "c2: archived but never completed (stuck)" in violations
    assert "c2: 0 journalposts (want 1)" in violations


def test_a_dead_letter_needs_its_alert() -> None:
    letter = DeadLetter("router:7", b'{"case_id": "c9"}')
    alert = {"type": "alert", "kind": "dead_letter", "event_id": expected_alert_id(letter)}
    assert check(set(), [alert], [], [letter]).violations == []
    assert check(set(), [], [], [letter]).violations == [
        "dead letter router:7 has no dead_letter alert"
    ]


def test_violations_are_counted_by_kind() -> None:
    kinds = violation_kinds(
        ["c1: never routed (lost or stuck)", "c2: never routed (lost or stuck)"]
    )
    assert kinds == {"never routed (lost or stuck)": 2}
