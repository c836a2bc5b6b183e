"""What Graph says of a message, read alike by every service: its categories, its follow-up flag
and its conversation (R11, R12)."""

from __future__ import annotations

from msgraph.generated.models.followup_flag_status import FollowupFlagStatus

from services.common.categories import same_categories
from services.common.flags import parse_flag_status


def test_categories_are_the_same_whatever_their_case_order_or_repetition() -> None:
    assert same_categories(["Tildelt: Kari", "Offisiell"], ["offisiell", "TILDELT: kari"])
    assert same_categories(["Offisiell", "offisiell"], ["Offisiell"])
    assert not same_categories(["Offisiell"], ["Offisiell", "Sensitiv"])


def test_a_flag_status_is_one_of_graphs_three_or_unknown() -> None:
    assert parse_flag_status("complete") == "complete"
    assert parse_flag_status(FollowupFlagStatus.Flagged) == "flagged"
    assert parse_flag_status("Complete") is None
    assert parse_flag_status(None) is None
