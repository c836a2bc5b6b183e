"""Department routing: the mailbox decides; post@ follows a confident suggestion (R5, R8, R10)."""

from __future__ import annotations

from services.common.orgconfig import Organisation
from services.router.routing import route_department


def test_department_mailbox_decides(org: Organisation) -> None:  # R5
    decision = route_department(org, "bygg", "helse", 0.99)
    assert decision.department == "bygg"
    assert decision.previous_department is None


def test_common_mailbox_follows_confident_suggestion(org: Organisation) -> None:  # R5, R10
    decision = route_department(org, "post", "bygg", 0.8)
    assert decision.department == "bygg"
    assert decision.previous_department == "post"


def test_common_mailbox_keeps_unsure_or_unknown(org: Organisation) -> None:  # R5
    assert route_department(org, "post", "bygg", 0.79).department == "post"
    assert route_department(org, "post", "brannvesen", 0.99).department == "post"
    assert route_department(org, "post", None, 0.99).department == "post"
