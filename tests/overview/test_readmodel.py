"""Issue 19: the overview's read model (pure): records in, what each viewer may see out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas.events import Alert, Party
from schemas.vocab import AlertKind, SensitiveKind, Status
from services.common.actors import Actor
from services.common.orgconfig import Organisation
from services.common.presence import Presence, away_key
from services.overview.readmodel import ReadModel, parse_case, sender_kind, shows_subject
from services.overview.texts import history_word

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SUPERVISOR = Actor("rune.bo", "Rune Bø", "person")
CASEWORKER = Actor("anders.moi", "Anders Moi", "person")
OTHER_SUPERVISOR = Actor("torstein.lode", "Torstein Lode", "person")


def stored(case_id: str, **fields: object) -> bytes:
    record: dict[str, object] = {
        "case_id": case_id,
        "mailbox": "teknisk@ha.kommune.no",
        "mailbox_department": "teknisk",
        "department": "teknisk",
        "graph_message_id": "g-" + case_id,
        "received_at": (NOW - timedelta(hours=2)).isoformat(),
        "mime_sha256": "0" * 64,
        "subject": "Vasslekkasje",
        "status": "ny",
        "a_field_the_router_adds_later": {"anything": 1},
    }
    record.update(fields)
    return json.dumps({"record": record, "outbox": []}, default=str).encode()


def test_a_supervisor_sees_all_a_caseworker_only_their_own(org: Organisation) -> None:
    model = ReadModel(org)
    assert model.apply("case.a", stored("a")) == {"teknisk"}
    model.apply("case.b", stored("b", status="tildelt", assignee="anders.moi"))
    model.apply("case.c", stored("c", status="tildelt", assignee="siri.vold"))
    assert [c.case_id for c in model.visible(SUPERVISOR, "teknisk")] == ["a", "b", "c"]
    assert [c.case_id for c in model.visible(CASEWORKER, "teknisk")] == ["b"]
    assert model.visible(OTHER_SUPERVISOR, "teknisk") == []


def test_lists_queue_unassigned_overdue_and_ferdig_today_only(org: Organisation) -> None:
    model = ReadModel(org)
    model.apply("case.new", stored("new", due_at=(NOW - timedelta(minutes=5)).isoformat()))
    model.apply(
        "case.today",
        stored("today", status="ferdig", assignee="anders.moi", completed_at=NOW.isoformat()),
    )
    model.apply(
        "case.old",
        stored(
            "old",
            status="ferdig",
            assignee="anders.moi",
            completed_at=(NOW - timedelta(days=3)).isoformat(),
        ),
    )
    lists = model.lists(SUPERVISOR, "teknisk", NOW)
    assert {c.case_id for c in lists.queue} == {"new", "today"}
    assert [c.case_id for c in lists.unassigned] == ["new"]
    assert [c.case_id for c in lists.overdue] == ["new"]


def test_a_moved_case_changes_both_departments_and_a_deleted_key_drops_it(
    org: Organisation,
) -> None:
    model = ReadModel(org)
    model.apply("case.a", stored("a"))
    assert model.apply("case.a", stored("a", department="stab")) == {"teknisk", "stab"}
    assert model.apply("case.a", None) == {"stab"}
    assert model.case("a") is None
    assert model.apply("workboard.teknisk", b"{}") == set()
    assert model.apply("case.junk", b"not json") == set()


def test_load_counts_open_cases_per_member_against_capacity(org: Organisation) -> None:
    model = ReadModel(org)
    model.apply("case.a", stored("a", status="tildelt", assignee="anders.moi"))
    model.apply("case.b", stored("b", status="tildelt", assignee="anders.moi"))
    model.apply("case.c", stored("c", status="ferdig", assignee="siri.vold"))
    load = {row.staff_id: row for row in model.load("teknisk")}
    assert load["anders.moi"].open_cases == 2
    assert load["siri.vold"].open_cases == 0
    assert "rune.bo" in load
    assert load["anders.moi"].capacity == org.staff_member("anders.moi").capacity


def test_a_sensitive_subject_is_its_assignees_alone(org: Organisation) -> None:
    model = ReadModel(org)
    model.apply(
        "case.s",
        stored(
            "s",
            status="tildelt",
            assignee="anders.moi",
            sensitive=[SensitiveKind.HELSE.value],
            sender={"address": "innbyggjar@example.org"},
        ),
    )
    case = model.case("s")
    assert case is not None
    assert case.status is Status.TILDELT
    assert shows_subject(CASEWORKER, case)
    assert not shows_subject(SUPERVISOR, case)
    assert sender_kind(org, case) == "external"
    staff = case.model_copy(update={"sender": Party(address="rune.bo@ha.kommune.no")})
    assert sender_kind(org, staff) == "staff"


def test_alerts_are_kept_once_newest_first(org: Organisation) -> None:
    model = ReadModel(org)
    first = Alert.about_case(AlertKind.OVERDUE, "a", "teknisk", NOW, "1 case overdue", "due")
    second = Alert.about_case(
        AlertKind.ARCHIVE_FAILED, "b", "teknisk", NOW, "Archive refused", "websak"
    )
    for alert in (first, second, first):
        assert model.add_alert(alert) == "teknisk"
    assert [a.kind for a in model.recent_alerts("teknisk")] == [
        AlertKind.ARCHIVE_FAILED,
        AlertKind.OVERDUE,
    ]


def test_the_class_is_explained_by_the_classifiers_rules_then_the_routers_words() -> None:
    case = parse_case(
        stored(
            "c9",
            class_reasons=["rule.applications", "model.2026.12.06-x"],
            history=[
                {"at": NOW.isoformat(), "who": "sakspost", "what": "received"},
                {"at": NOW.isoformat(), "who": "sakspost", "what": "routed", "why": "load"},
            ],
        )
    )
    assert case is not None
    assert case.reasons() == ["rule.applications", "model.2026.12.06-x", "load"]
    assert history_word("nn", "received") == "motteken"
    assert history_word("en", "reclassified") == "class corrected"
    # A word a newer router records is shown as recorded.
    assert history_word("nb", "escalated") == "escalated"


def test_load_says_who_is_away_once_the_router_has_recorded_it(org: Organisation) -> None:
    model = ReadModel(org)
    assert {row.away for row in model.load("teknisk")} == {None}  # not recorded yet: unknown
    presence = Presence(department="teknisk", away=["anders.moi"], checked_at=NOW)
    assert model.apply(away_key("teknisk"), presence.model_dump_json().encode()) == {"teknisk"}
    away = {row.staff_id: row.away for row in model.load("teknisk")}
    assert away["anders.moi"] is True and away["rune.bo"] is False
    model.apply(away_key("teknisk"), None)
    assert {row.away for row in model.load("teknisk")} == {None}
