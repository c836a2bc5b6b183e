"""`make bench`: run every benchmark present and write `bench/results.json`.

Figures are measured in one run on whatever machine this is; compare them as ratios within a run
(the machine is shared and noisy), never as absolute timings in tests.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devtools.bench.classify import bench_classifier
from devtools.bench.ingest import bench_ingest
from devtools.bench.render import bench_render
from services.common.settings import REPO_ROOT

SAMPLES = REPO_ROOT / "samples"
RESULTS = REPO_ROOT / "bench" / "results.json"

BENCHMARKS: dict[str, Callable[[], dict[str, float]]] = {
    "classifier": lambda: bench_classifier(SAMPLES),
    "render": lambda: bench_render(SAMPLES),
    "ingest": bench_ingest,
}


def run(results_path: Path = RESULTS) -> dict[str, float]:
    console = Console()
    figures: dict[str, float] = {}
    for name, benchmark in BENCHMARKS.items():
        console.print(f"måler {name} …")
        figures.update(benchmark())
    table = Table(title="Sakspost bench")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in sorted(figures.items()):
        table.add_row(key, f"{value:,.2f}")
    console.print(table)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "figures": figures,
    }
    results_path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
    console.print(f"skreiv {results_path}")
    return figures


if __name__ == "__main__":
    run()
