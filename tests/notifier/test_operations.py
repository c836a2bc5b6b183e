"""The operations channel (issue 17): its configuration, what it is told besides the supervisors,
and the pure detection of a service that keeps restarting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from schemas.vocab import AlertKind, Channel
from services.common.orgconfig import Organisation
from services.common.starts import Start, parse_start_key, start_key
from services.notifier.compose import alert_notices, operations_notice
from services.notifier.config import NotifierConfigError, NotifierSecrets, parse_notifier_config
from services.notifier.kvstore import AlertGroup, PendingAlert
from services.notifier.restarts import restarting
from tests.notifier.support import NOW, alert, fast_config

ROUTE = {"channel": "email"}
GOOD = {"defaults": {"assigned": ROUTE, "alerts": ROUTE, "digest": ROUTE}}


def group(kind: AlertKind, department: str = "bygg") -> AlertGroup:
    return AlertGroup(department, kind, (PendingAlert("k", NOW, alert(1, kind, department)),))


def test_hå_tells_operations_of_dead_letters_archive_subscription_and_restarts(
    org: Organisation,
) -> None:
    operations = fast_config(org).operations
    assert operations is not None
    assert operations.alert_kinds == [
        AlertKind.DEAD_LETTER,
        AlertKind.ARCHIVE_FAILED,
        AlertKind.SUBSCRIPTION_FAILED,
        AlertKind.SERVICE_RESTARTING,
    ]
    assert (operations.restart_limit, operations.restart_window_minutes) == (3, 15)


def test_a_bad_operations_section_names_the_field_and_the_fix(org: Organisation) -> None:
    source = Path("notifier.yaml")
    with pytest.raises(
        NotifierConfigError, match=r"operations: the email channel needs an address"
    ):
        parse_notifier_config({**GOOD, "operations": {"channel": "email"}}, source, org)
    # The organisation file may name the address instead.
    with_address = org.model_copy(update={"operations_address": "drift@ha.kommune.no"})
    config = parse_notifier_config(
        {**GOOD, "operations": {"channel": "email"}}, source, with_address
    )
    assert config.operations is not None
    assert config.operations.address_in(with_address) == "drift@ha.kommune.no"
    with pytest.raises(NotifierConfigError, match=r"operations.alert_kinds.0"):
        parse_notifier_config(
            {**GOOD, "operations": {"channel": "teams", "alert_kinds": ["fire"]}}, source, org
        )
    with pytest.raises(NotifierConfigError, match=r"operations.restart_limit"):
        parse_notifier_config(
            {**GOOD, "operations": {"channel": "webhook", "restart_limit": 0}}, source, org
        )
    config = parse_notifier_config({**GOOD, "operations": {"channel": "teams"}}, source, org)
    assert config.operations is not None and config.operations.chain == (Channel.TEAMS,)


def test_operations_are_told_besides_the_supervisors_not_instead(org: Organisation) -> None:
    config = fast_config(org)
    dead = group(AlertKind.DEAD_LETTER)
    supervisors = [org.staff_member(s) for s in org.departments["bygg"].supervisors]
    told = alert_notices(dead, supervisors, org, config)
    extra = operations_notice(dead, org, config)
    assert extra is not None and extra.to_operations
    assert extra.recipient.address == "drift@ha.kommune.no"
    assert extra.notice_id not in {notice.notice_id for notice in told}
    assert "drifta" in extra.message.lines[0]
    # Kinds operations do not take stay with the supervisors only.
    assert operations_notice(group(AlertKind.UNASSIGNED), org, config) is None
    assert operations_notice(dead, org, config.model_copy(update={"operations": None})) is None


def test_operations_have_their_own_teams_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAKSPOST_NOTIFIER_TEAMS_URL", "https://teams.example/department")
    monkeypatch.setenv("SAKSPOST_NOTIFIER_OPERATIONS_TEAMS_URL", "https://teams.example/ops")
    secrets = NotifierSecrets()
    assert secrets.teams_url_for("bygg") == "https://teams.example/department"
    assert secrets.teams_url_for("bygg", operations=True) == "https://teams.example/ops"


def starts(instance: str, *minutes: float) -> list[Start]:
    return [Start("router", instance, NOW + timedelta(minutes=m)) for m in minutes]


WINDOW = timedelta(minutes=15)


def test_an_instance_starting_more_than_the_limit_within_the_window_is_restarting() -> None:
    assert restarting(starts("router-a", 0, 5, 10), 3, WINDOW) == []
    (found,) = restarting(starts("router-a", 0, 5, 10, 14) + starts("router-b", 0, 1), 3, WINDOW)
    assert (found.instance, found.since, found.count) == ("router-a", NOW, 4)
    # Starts spread wider than the window are a service that restarts now and then: no alert.
    assert restarting(starts("router-a", 0, 10, 20, 30, 40), 3, WINDOW) == []


def test_one_alert_per_instance_and_window_however_often_it_is_judged() -> None:
    crash_loop = starts("router-a", 0, 1, 2, 3, 4, 5)
    (once,) = restarting(crash_loop, 3, WINDOW)
    assert once.count == 6
    # Judged again with a later start: the same window, so the same alert.
    assert restarting(crash_loop[:4], 3, WINDOW)[0].since == once.since
    # A crash loop going on after the window is a new window and a new alert.
    later = crash_loop + starts("router-a", 20, 21, 22, 23)
    assert [r.since for r in restarting(later, 3, WINDOW)] == [NOW, NOW + timedelta(minutes=20)]


def test_a_start_is_one_key_that_says_it_all() -> None:
    start = Start("router", "router-7c9d-x2", NOW)
    assert parse_start_key(start_key(start)) == start
    assert parse_start_key("router.no-time") is None
