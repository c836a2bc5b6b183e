"""`make chaos`: faults injected into the whole running stack while mail flows, then the invariants.

    python -m devtools.chaos [--minutes 30] [--rate 2] [--seed 1]

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
from devtools.chaos.run import ChaosReport, run_chaos

SHOWN_VIOLATIONS = 30


def report_table(report: ChaosReport) -> Table:
    table = Table(title=f"Sakspost chaos: {report.minutes:g} min, seed {report.seed}")
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
    arguments = parser.parse_args()
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="sakspost-chaos-"))
    console.print(f"logs: {workdir / 'stack' / 'logs'}")
    report = asyncio.run(run_chaos(arguments.minutes, arguments.rate, arguments.seed, workdir))
    console.print(report_table(report))
    for kind, count in violation_kinds(report.violations).most_common():
        console.print(f"[red]{count} × {kind}[/red]")
    for violation in report.violations[:SHOWN_VIOLATIONS]:
        console.print(f"[red]violation:[/red] {violation}")
    sys.exit(1 if report.violations else 0)


if __name__ == "__main__":
    main()
