"""The router's part of the organisation file: office hours, SLA, rules, confidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.vocab import MailClass
from services.common.orgconfig import Organisation, OrgConfigError, parse_organisation

from .builders import CONFIG


def _raw() -> dict[str, Any]:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_ha_defaults(org: Organisation) -> None:  # R10, R11
    assert org.sla.days_by_topic["innsynskrav"] == 1
    assert org.sla.days_by_class[MailClass.OFFISIELL] == 3
    assert org.office_hours.closing_time.hour == 16
    assert org.office_hours.closed_month_days == {(12, 24), (12, 31)}
    assert org.sla_for("bygg") is org.sla
    assert org.departments["stab"].assignment.rules[0].assignee == "siv.lerbrekk"


def test_unquoted_time_is_explained() -> None:
    data = _raw()
    data["office_hours"]["closes"] = yaml.safe_load("16:00")  # YAML 1.1 makes it 960
    with pytest.raises(OrgConfigError, match=r"office_hours\.closes: 960 .*write it in quotes"):
        parse_organisation(data, Path("ha.yaml"))


def test_rule_for_a_non_member_names_the_fix() -> None:  # R8
    data = _raw()
    data["departments"]["bygg"]["assignment"]["rules"] = [
        {"topics": ["klage"], "assignee": "berit.aase"}
    ]
    with pytest.raises(OrgConfigError, match=r"assignment.rules.0: 'berit.aase' is not a member"):
        parse_organisation(data, Path("ha.yaml"))


def test_rule_without_criteria_is_refused() -> None:
    data = _raw()
    data["departments"]["bygg"]["assignment"]["rules"] = [{"assignee": "kristin.hovland"}]
    with pytest.raises(OrgConfigError, match="no criteria"):
        parse_organisation(data, Path("ha.yaml"))


def test_common_department_rules_may_name_anyone() -> None:  # R8
    data = _raw()
    data["departments"]["post"]["assignment"] = {
        "rules": [{"senders": ["@statsforvaltaren.example"], "assignee": "torstein.lode"}]
    }
    org = parse_organisation(data, Path("ha.yaml"))
    assert org.departments["post"].assignment.rules[0].senders == ["@statsforvaltaren.example"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("assignment", "order"), ["load", "load"], "names a policy twice"),
        (("assignment", "order"), ["queue"], "order.0"),
        (("sla",), {"days_by_class": {"viktig": 2}}, "sla.days_by_class.viktig"),
        (("sla",), {"days_by_topic": {"klage": -1}}, "greater than or equal to 0"),
    ],
)
def test_department_router_fields_are_validated(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    data = _raw()
    target = data["departments"]["it"]
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    with pytest.raises(OrgConfigError, match=message):
        parse_organisation(data, Path("ha.yaml"))


def test_confidence_is_between_zero_and_one() -> None:
    data = _raw()
    data["confidence"]["auto_privat"] = 1.5
    with pytest.raises(OrgConfigError, match=r"confidence\.auto_privat"):
        parse_organisation(data, Path("ha.yaml"))
