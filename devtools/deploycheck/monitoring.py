"""The monitoring in `deploy/base/monitoring/` checked without a cluster.

- The alert rules: promtool (Debian's `prometheus` package) checks them and runs their unit tests
  (`rules-test.yaml`); a PrometheusRule holds the rules under `spec`, so they are written out as
  the plain rule file promtool reads.
- The rules and the Grafana dashboard name only metrics that exist: every metric in an
  expression is one the services export (`services/common/metrics.py` and prometheus_client's
  own process and Python families), one NATS's exporter emits with the chart's flags, or `up`.
- The dashboard is a dashboard: JSON, a uid and title, every panel but a row with at least one
  target, every target with an expression.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

from devtools.deploycheck.render import DEPLOY
from services.common.metrics import OWNED_BY_ONE_SERVICE

MONITORING = DEPLOY / "base" / "monitoring"
RULES = MONITORING / "rules.yaml"
RULES_TEST = MONITORING / "rules-test.yaml"
DASHBOARD = MONITORING / "sakspost-dashboard.json"
PROMTOOL_MISSING = (
    "promtool is not installed; install it with: "
    "sudo apt-get install -y --no-install-recommends prometheus"
)

# What prometheus-nats-exporter emits with the NATS chart's flags (`-prefix=nats -varz -jsz=all`,
# its collector/jsz.go and the varz collector): the names the rules and dashboard may use.
NATS_EXPORTER_METRICS = frozenset(
    {
        "nats_server_total_message_bytes",
        "nats_server_max_storage",
        "nats_server_max_memory",
        "nats_server_total_messages",
        "nats_server_total_streams",
        "nats_server_total_consumers",
        "nats_stream_total_bytes",
        "nats_stream_total_messages",
        "nats_consumer_num_pending",
        "nats_consumer_num_ack_pending",
        "nats_varz_connections",
        "nats_varz_mem",
        "nats_varz_cpu",
    }
)
# Prometheus's own series for every target.
PROMETHEUS_METRICS = frozenset({"up", "scrape_duration_seconds"})

# PromQL words that are not metric names: functions (followed by "("), aggregation modifiers,
# keywords and the label lists after them.
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
     "bool", "offset", "inf", "nan"}
)  # fmt: skip
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_WORD = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)\b(?!\s*\()")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (enough PromQL for the rules and the dashboard)."""
    stripped = _STRINGS.sub('""', expr)
    stripped = _MATCHERS.sub("", stripped)
    stripped = _RANGES.sub("", stripped)
    stripped = _LABEL_LISTS.sub("", stripped)
    stripped = re.sub(r"\$__\w+", "", stripped)  # Grafana's variables ($__rate_interval)
    return {word for word in _WORD.findall(stripped) if word.lower() not in _KEYWORDS}


def exported_metrics() -> frozenset[str]:
    """Every series name the services' `/metrics` can carry."""
    names: set[str] = set()
    families = [*REGISTRY.collect()]
    for collector in OWNED_BY_ONE_SERVICE:
        families += collector.collect()
    for family in families:
        names.add(family.name)
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count", "created")}
        names |= {sample.name for sample in family.samples}
    return frozenset(names)


def known_metrics() -> frozenset[str]:
    return exported_metrics() | NATS_EXPORTER_METRICS | PROMETHEUS_METRICS


def _unknown(expr: str, known: frozenset[str], where: str) -> list[str]:
    return [f"{where}: unknown metric {name!r}" for name in sorted(metric_names(expr) - known)]


def check_dashboard(path: Path, known: frozenset[str]) -> list[str]:
    try:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"{path.name}: not a readable JSON document ({error})"]
    failures = [f"{path.name}: no {key}" for key in ("uid", "title") if not dashboard.get(key)]
    panels: list[dict[str, Any]] = dashboard.get("panels") or []
    if not panels:
        failures.append(f"{path.name}: no panels")
    for panel in panels:
        if panel.get("type") == "row":
            continue
        where = f"{path.name}: panel {panel.get('title')!r}"
        targets = panel.get("targets") or []
        if not targets:
            failures.append(f"{where}: no target")
        for target in targets:
            expr = target.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                failures.append(f"{where}: a target without an expression")
                continue
            failures += _unknown(expr, known, where)
    return failures


def _rule_groups(path: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    groups: list[dict[str, Any]] = document["spec"]["groups"]
    return groups


def check_rules(rules: Path, tests: Path, known: frozenset[str]) -> list[str]:
    """promtool's check and unit tests of a PrometheusRule's rules, and their metric names."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return [PROMTOOL_MISSING]
    groups = _rule_groups(rules)
    failures = [
        failure
        for group in groups
        for rule in group.get("rules", [])
        for failure in _unknown(
            str(rule.get("expr", "")), known, f"{rules.name}: {rule.get('alert')}"
        )
    ]
    with tempfile.TemporaryDirectory() as workdir:
        plain = Path(workdir, "rules.yaml")
        plain.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
        shutil.copy(tests, Path(workdir, tests.name))
        for command in (["check", "rules", plain.name], ["test", "rules", tests.name]):
            result = subprocess.run(  # noqa: S603 - promtool with fixed arguments
                [promtool, *command], cwd=workdir, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                output = (result.stdout + result.stderr).strip()
                failures.append(f"promtool {' '.join(command[:2])} {rules.name}: {output}")
    return failures


def check_monitoring() -> tuple[list[str], list[str]]:
    """(what was checked, failures) for the rules and the dashboard in deploy/."""
    known = known_metrics()
    failures = check_rules(RULES, RULES_TEST, known) + check_dashboard(DASHBOARD, known)
    rules = sum(len(group.get("rules", [])) for group in _rule_groups(RULES))
    checked = [
        f"{RULES.relative_to(DEPLOY)}: {rules} rules, promtool check and unit tests, metric names",
        f"{DASHBOARD.relative_to(DEPLOY)}: panels, targets, metric names",
    ]
    return checked, failures
