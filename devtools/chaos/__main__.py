"""`make chaos`: faults injected into the whole running stack while mail flows, then the invariants.

    python -m devtools.chaos [--minutes 30] [--rate 2] [--seed 1] [--cluster 3]

`--cluster 3` runs NATS as a three-node JetStream cluster (everything replicated three times) and
adds the loss of a node to the faults: SIGKILL, down for a while, started again on its store.

Exits 1 when any invariant is violated. Logs of every process are kept in the printed directory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devtools.chaos.invariants import violation_kinds
from devtools.chaos.natsfaults import NodeLoss
from devtools.chaos.run import ChaosReport, run_chaos

SHOWN_VIOLATIONS = 30


def _node_loss_rows(losses: list[NodeLoss]) -> list[tuple[str, float]]:
    """The longest each node loss took to serve again and to be current again, in seconds."""
    if not losses:
        return []
    serving = [loss.serving - loss.killed for loss in losses if loss.serving is not None]
    current = [loss.current - loss.restarted for loss in losses if loss.current is not None]
    return [
        ("NATS nodes lost and restarted", len(losses)),
        ("  longest until new leaders (s)", round(max(serving, default=0.0), 1)),
        ("  longest until current again (s)", round(max(current, default=0.0), 1)),
    ]


def report_table(report: ChaosReport) -> Table:
    nodes = f", {report.nats_nodes} NATS nodes" if report.nats_nodes > 1 else ""
    table = Table(title=f"Sakspost chaos: {report.minutes:g} min, seed {report.seed}{nodes}")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        (f"mails delivered ({report.rate:g}/s)", report.mails),
        ("malformed mails delivered (MIME fuzz)", report.fuzzed_mails),
        ("malformed mails refused by SMTP", report.smtp_refused),
        ("cases checked", report.cases),
        ("webhook inputs fuzzed", report.webhook_inputs),
        *((f"  answered {status}", n) for status, n in sorted(report.webhook_answers.items())),
        ("faults injected", sum(report.faults.values())),
        *((f"  {kind}", n) for kind, n in sorted(report.faults.items())),
        ("alerts raised", sum(report.alerts.values())),
        *((f"  {kind}", n) for kind, n in sorted(report.alerts.items())),
        ("dead letters", report.dead_letters),
        *_node_loss_rows(report.node_losses),
        ("seconds to settle after the last fault", report.settle_seconds),
        ("violations", len(report.violations)),
    ]
    for what, count in rows:
        table.add_row(what, f"{count:g}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2.0, help="mails per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cluster", type=int, default=1, choices=(1, 3), help="NATS nodes (3: node losses too)"
    )
    arguments = parser.parse_args()
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="sakspost-chaos-"))
    console.print(f"logs: {workdir / 'stack' / 'logs'}")
    report = asyncio.run(
        run_chaos(arguments.minutes, arguments.rate, arguments.seed, workdir, arguments.cluster)
    )
    console.print(report_table(report))
    for kind, count in violation_kinds(report.violations).most_common():
        console.print(f"[red]{count} × {kind}[/red]")
    for violation in report.violations[:SHOWN_VIOLATIONS]:
        console.print(f"[red]violation:[/red] {violation}")
    sys.exit(1 if report.violations else 0)


if __name__ == "__main__":
    main()
