"""Real unit names as weak-labelled department text (`../shared/corpus/real-titles/units.tsv`).

Most real titles come from planning and building, so the model would otherwise learn little of
what health, schools or culture are called. A unit's name ("Solheim sykehjem", "Kulturskolen")
is mapped to one of Hå's departments by the reviewable rules in `training/unit_departments.yaml`:
on its own name first, then its parent's.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.classifier.realtitles import DEFAULT_TITLES

DEFAULT_UNITS = DEFAULT_TITLES.with_name("units.tsv")
UNIT_RULES = Path(__file__).with_name("training") / "unit_departments.yaml"


@dataclass(frozen=True, slots=True)
class UnitRule:
    pattern: re.Pattern[str]
    department: str | None


def read_rules(path: Path = UNIT_RULES) -> list[UnitRule]:
    entries: list[dict[str, str | None]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        UnitRule(re.compile(str(e["pattern"]), re.IGNORECASE), e["department"]) for e in entries
    ]


def unit_department(name: str, parent: str, rules: Sequence[UnitRule]) -> str | None:
    """The department a unit's own name says, else its parent's; None where neither says."""
    for text in (name, parent):
        for rule in rules:
            if rule.pattern.search(text.strip()):
                return rule.department
    return None


def labelled_units(
    path: Path = DEFAULT_UNITS, rules: Sequence[UnitRule] | None = None
) -> Iterator[tuple[str, str]]:
    """(unit name, department) for every distinct unit name that maps to a department."""
    chosen = read_rules() if rules is None else rules
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            name = row["unit_name"].strip()
            department = unit_department(name, row["parent_unit"], chosen)
            if department is not None and name.casefold() not in seen:
                seen.add(name.casefold())
                yield name, department
