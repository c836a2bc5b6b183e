"""A department's workboard (R11): which cases it lists, and whose boards count a person's load."""

from __future__ import annotations

from schemas.vocab import Status
from services.common.orgconfig import Organisation
from services.router.assignment import Rotation
from services.router.planner import boards_to_count
from services.router.record import CaseRecord
from services.router.transitions import open_case
from services.router.workboard import Workboard

from .builders import oslo, received


def case(message_id: str, department: str = "bygg", assignee: str | None = None) -> CaseRecord:
    record = open_case(received(message_id=message_id, at=oslo(2026, 5, 22, 10)), "post")
    return record.model_copy(update={"department": department, "assignee": assignee})


def test_a_board_lists_its_departments_open_cases_and_counts_per_assignee() -> None:
    board = Workboard(department="bygg")
    for number, person in enumerate(["gerd.skjaerpe", "gerd.skjaerpe", None, "kristin.hovland"]):
        board = board.synced(case(f"m{number}", assignee=person))
    assert board.open_counts() == {"gerd.skjaerpe": 2, "kristin.hovland": 1}
    decided = case("m0", assignee="gerd.skjaerpe").case_id
    assert board.open_counts(excluding=decided) == {"gerd.skjaerpe": 1, "kristin.hovland": 1}


def test_syncing_again_changes_nothing() -> None:
    record = case("m1", assignee="gerd.skjaerpe")
    board = Workboard(department="bygg").synced(record)
    assert board.synced(record) is board


def test_a_case_leaves_the_board_when_closed_or_moved_to_another_department() -> None:
    record = case("m1", department="post")
    post = Workboard(department="post").synced(record)
    assert record.case_id in post.open_cases
    moved = record.model_copy(update={"department": "bygg", "assignee": "gerd.skjaerpe"})
    assert post.synced(moved).open_cases == {}  # the entry the move left behind heals
    assert Workboard(department="bygg").synced(moved).open_cases == {moved.case_id: "gerd.skjaerpe"}
    closed = moved.model_copy(update={"status": Status.FERDIG})
    assert Workboard(department="bygg").synced(moved).synced(closed).open_cases == {}


def test_a_claim_keeps_the_rotation_of_its_own_department() -> None:
    record = case("m1", assignee="gerd.skjaerpe")
    picked = Rotation(last_picked={"bygg": "gerd.skjaerpe", "helse": "ola.undheim"})
    board = Workboard(department="bygg").claimed(record, picked)
    assert board.last_picked == "gerd.skjaerpe"
    assert board.rotation == Rotation(last_picked={"bygg": "gerd.skjaerpe"})
    # A decision that picked nobody by load leaves the rotation as it was.
    assert board.claimed(case("m2", assignee="kristin.hovland"), Rotation()).last_picked == (
        "gerd.skjaerpe"
    )


def test_load_counts_every_department_a_caseworker_is_in(org: Organisation) -> None:
    # elin.tjessem works in stab and post; skule and kultur share three people; post is common.
    assert boards_to_count(org, "stab") == ["post", "stab"]
    assert boards_to_count(org, "skule") == ["kultur", "post", "skule"]
    assert boards_to_count(org, "post") == ["post", "stab"]
    assert boards_to_count(org, "helse") == ["helse", "post"]
