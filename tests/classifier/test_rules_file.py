"""The rule file is data, validated and versioned: a bad file fails with a message that names
the rule and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.classifier.ruleset import DEFAULT_RULES_PATH, RulesError, load_rules, parse_rules


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    return data


def test_shipped_rules_are_valid_and_versioned() -> None:
    rules = load_rules()
    assert rules.version
    assert len(rules.rules) >= 40
    topics = {rule.topic for rule in rules.rules if rule.topic}
    for required in (
        "innsynskrav",
        "klage",
        "soknad",
        "hoyring",
        "nabovarsel",
        "bekymringsmelding",
        "faktura",
        "nyhetsbrev",
        "autosvar",
    ):
        assert required in topics


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rules"].append(dict(d["rules"][0])), "appear more than once"),
        (lambda d: d["rules"][0].update(topic="nope"), "unknown topic"),
        (
            lambda d: d["rules"][0]["when"].update(subject=["(unclosed"]),
            "not a valid regular expression",
        ),
        (lambda d: d["rules"][0].update(votes={"hemmeleg": 1.0}), "rules.0.votes"),
        (lambda d: d["rules"][0].update(when={}), "at least one condition"),
        (lambda d: d.pop("version"), "version"),
        (lambda d: d["rules"][0].update(id="No Dots"), "rules.0.id"),
        (
            lambda d: d["departments"]["deciding_topics"].update(nope="stab"),
            "departments.deciding_topics: unknown topic",
        ),
        (
            lambda d: d["departments"]["deciding_topics"].update(stilling="hamn"),
            "no vocabulary for 'hamn'",
        ),
    ],
)
def test_bad_rule_files_are_refused_with_a_clear_message(change: Any, message: str) -> None:
    data = shipped()
    change(data)
    with pytest.raises(RulesError, match=message):
        parse_rules(data, "test-rules.yaml")


def test_unreadable_rule_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [", encoding="utf-8")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(broken)
