"""Issue 15: the pipeline on a three-node JetStream cluster survives losing a node. While mail
flows, one node is killed with SIGKILL, kept down, and started again on its own store; then every
chaos invariant must hold: each mail exactly one `received` and one `classified`, `routed` with
an assignee unless privat, exactly one journalpost when arkivverdig, exactly one notice per
assignment; and the cluster must have elected new leaders and the node caught up.

`make test` runs a short loss (a tenth of the mail), `make test-full` the whole one. The run's
schedule is timed; what is checked is waited for on events, with generous bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.bench.nodeloss import run_node_loss
from devtools.chaos.invariants import violation_kinds
from devtools.chaos.run import chaos_env
from tests.conftest import scaled

# Starts processes (three nats-server nodes, the stack, services) of its own.
pytestmark = pytest.mark.integration

RATE = 2.0
# Seconds of mail; the node is lost for the middle third. Full scale: 900 mails.
SECONDS = scaled(450, minimum=30)


@pytest.mark.timeout(SECONDS + 900)
async def test_no_invariant_is_violated_when_a_node_is_lost(tmp_path: Path) -> None:
    third = SECONDS / 3
    report, _ = await run_node_loss(
        tmp_path, RATE, (0.0, third, third, third), seed=1, env=chaos_env(tmp_path)
    )

    assert report.mails == round(SECONDS * RATE)
    assert report.cases >= report.mails
    [loss] = report.node_losses
    assert loss.groups_led > 0, "the node killed led some stream or consumer"
    assert loss.restarted - loss.killed >= third
    assert report.violations == [], (violation_kinds(report.violations), report.violations[:10])
