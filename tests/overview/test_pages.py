"""Issue 19: the overview's markup (pure): what a mail brings is escaped, a sensitive subject is
left out for all but its assignee, forms carry the CSRF token, and only the allowed actions show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.commands import Verb
from schemas.events import Alert
from schemas.vocab import AlertKind, SensitiveKind, Status
from services.common.actors import Actor
from services.common.orgconfig import Organisation
from services.overview.actions import ALERT_VERBS, CASE_VERBS
from services.overview.pages import CaseActions, Viewer, alerts_fragment, case_page
from services.overview.readmodel import CaseView, HistoryView

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def viewer(org: Organisation, staff_id: str) -> Viewer:
    member = org.staff_member(staff_id)
    return Viewer(Actor(member.id, member.name, "person"), "en", "csrf-token-123", org)


def case(**changes: object) -> CaseView:
    base = CaseView(
        case_id="c1",
        department="teknisk",
        received_at=NOW - timedelta(hours=1),
        subject='<script>alert("x")</script>',
        status=Status.TILDELT,
        assignee="anders.moi",
        alerts_sent=[AlertKind.CONFIRM_PRIVATE],
        history=[HistoryView(at=NOW, who="rune.bo", what="assigned", why="<b>why</b>")],
    )
    return base.model_copy(update=changes)


def actions(*verbs: Verb) -> CaseActions:
    return CaseActions(
        frozenset(verbs),
        [("anders.moi", "Anders Moi")],
        lambda: "request-1234",
        frozenset({AlertKind.CONFIRM_PRIVATE}),
    )


def test_what_a_mail_brings_is_escaped_and_forms_carry_the_csrf_token(org: Organisation) -> None:
    page = case_page(viewer(org, "rune.bo"), case(), actions(*CASE_VERBS), NOW, None)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;why&lt;/b&gt;" in page
    assert page.count('name="csrf" value="csrf-token-123"') >= 4
    assert 'data-action="confirm_private"' in page
    assert 'aria-label="Main menu"' in page
    assert '<a class="skip" href="#main">' in page


def test_a_sensitive_subject_shows_only_to_its_assignee(org: Organisation) -> None:
    sensitive = case(subject="Helse", sensitive=[SensitiveKind.HELSE])
    supervisor = case_page(viewer(org, "rune.bo"), sensitive, actions(), NOW, None)
    assignee = case_page(viewer(org, "anders.moi"), sensitive, actions(), NOW, None)
    assert "Helse<" not in supervisor
    assert "hidden: sensitive mail" in supervisor
    assert "Helse<" in assignee


def test_only_the_allowed_actions_are_drawn(org: Organisation) -> None:
    page = case_page(viewer(org, "anders.moi"), case(), actions(Verb.DONE), NOW, "Done.")
    assert 'data-action="done"' in page
    assert 'data-action="assign"' not in page
    assert 'data-action="confirm_private"' not in page
    assert 'id="notice" role="status">Done.' in page


def test_an_alerts_action_is_drawn_for_those_who_may_take_it(org: Organisation) -> None:
    reply = Alert.about_case(
        AlertKind.REPLY_NOT_FROM_WEBSAK, "sent1", "teknisk", NOW, "Reply sent from Outlook", "r"
    )
    overdue = Alert.about_case(AlertKind.OVERDUE, "c1", "teknisk", NOW, "1 case overdue", "due")
    allowed = alerts_fragment(
        viewer(org, "rune.bo"),
        "teknisk",
        [reply, overdue],
        frozenset(ALERT_VERBS.values()),
        lambda: "request-1234",
    )
    assert allowed.count("<form") == 1
    assert 'action="/d/teknisk/alert/archive_reply"' in allowed
    assert 'name="case_id" value="sent1"' in allowed
    assert '<th scope="col">Actions</th>' in allowed
    refused = alerts_fragment(
        viewer(org, "rune.bo"), "teknisk", [reply], frozenset(), lambda: "request-1234"
    )
    assert "<form" not in refused
