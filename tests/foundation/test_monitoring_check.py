"""The check `make lint` runs on the alert rules and the Grafana dashboard (devtools/deploycheck/
monitoring.py): it passes on deploy/ and fails on a panel or a rule naming what does not exist."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devtools.deploycheck.monitoring import (
    RULES_TEST,
    check_dashboard,
    check_monitoring,
    check_rules,
    known_metrics,
    metric_names,
)

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (apt-get install prometheus; .ci/run installs it)",
)


def test_metric_names_are_read_past_functions_labels_ranges_and_strings() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, service) (rate(sakspost_handler_seconds_bucket"
        '{service="router", event=~"mail.+"}[5m]))) / on (service) group_left '
        "max(nats_server_max_storage) > bool 0.8 unless absent(up)"
    )
    assert metric_names(expr) == {
        "sakspost_handler_seconds_bucket",
        "nats_server_max_storage",
        "up",
    }


@needs_promtool
def test_the_rules_and_dashboard_in_deploy_pass() -> None:
    checked, failures = check_monitoring()
    assert failures == []
    assert len(checked) == 2


def test_a_panel_naming_an_unknown_metric_is_refused(tmp_path: Path) -> None:
    dashboard = tmp_path / "dashboard.json"
    panel = {
        "type": "timeseries",
        "title": "Typo",
        "targets": [{"refId": "A", "expr": "rate(sakspost_event_handled_total[5m])"}],
    }
    empty = {"type": "stat", "title": "Empty", "targets": []}
    dashboard.write_text(json.dumps({"uid": "x", "title": "x", "panels": [panel, empty]}))
    failures = check_dashboard(dashboard, known_metrics())
    assert failures == [
        "dashboard.json: panel 'Typo': unknown metric 'sakspost_event_handled_total'",
        "dashboard.json: panel 'Empty': no target",
    ]


@needs_promtool
def test_a_rule_promtool_cannot_parse_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        """
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: broken}
spec:
  groups:
    - name: broken
      rules:
        - alert: Broken
          expr: sum(rate(sakspost_events_handled_total[5m]) >
"""
    )
    failures = check_rules(rules, RULES_TEST, known_metrics())
    assert any(failure.startswith("promtool check rules") for failure in failures)
