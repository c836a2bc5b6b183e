"""Issue 10's fault-injection run, short form: one minute of faults at the default scale
(`make test`; its seed meets every kind of fault in that minute), the full 30 minutes with
`make test-full`. Every invariant must hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.chaos.invariants import violation_kinds
from devtools.chaos.run import run_chaos
from devtools.chaos.schedule import FaultKind
from tests.conftest import scenario_scale

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

MINUTES = 1.0 if scenario_scale() < 1 else 30.0


@pytest.mark.timeout(round(MINUTES * 60 + 900))
async def test_no_invariant_is_violated_while_faults_are_injected(tmp_path: Path) -> None:
    report = await run_chaos(MINUTES, rate=2.0, seed=10, workdir=tmp_path)

    assert report.mails > 0 and report.cases >= report.mails
    single_node = {kind.value for kind in FaultKind if kind is not FaultKind.LOSE_NATS_NODE}
    assert set(report.faults) >= single_node, report.faults
    assert report.violations == [], (violation_kinds(report.violations), report.violations[:10])
