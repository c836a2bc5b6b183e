"""What Graph says of a message, read alike by every service: its categories, its follow-up flag
and its conversation (R11, R12)."""

from __future__ import annotations

import hashlib

from msgraph.generated.models.followup_flag_status import FollowupFlagStatus

from services.classifier.threads import thread_key
from services.common.categories import same_categories
from services.common.conversation import conversation_key
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


def test_a_conversation_key_fits_a_kv_key_and_stays_what_was_stored() -> None:
    graph_id = "AAQkADAwATM0MDAAMS1iNmQ0LTk2ZjktMDACLTAwCgAQAO+/sbQ2hFW0u=="
    key = conversation_key(graph_id)
    # The keys written before this module existed: a changed digest would orphan every thread.
    assert key == hashlib.sha256(graph_id.encode("utf-8")).hexdigest()[:40]
    assert thread_key(graph_id) == f"c.{key}"
    assert key.isalnum()
