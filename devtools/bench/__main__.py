"""`make bench`: every benchmark, a table on screen, `bench/results.json`, `bench/latency.png`
and each service's hotspots in `bench/profiles/<service>.txt`.

Figures are measured in one run on whatever machine this is; compare them as ratios within a run
(the machine is shared and noisy), never as absolute timings in tests.

    python -m devtools.bench [--mails 200] [--rate 10] [--non-archive-rate 20] [--drain-mails 200]
        [--no-profile]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devtools.bench.chart import latency_chart
from devtools.bench.classify import bench_classifier
from devtools.bench.drain import NON_ARCHIVE, bench_drain
from devtools.bench.goals import check_goals
from devtools.bench.hostile import bench_hostile
from devtools.bench.hotspots import Profile, as_text
from devtools.bench.ingest import bench_ingest
from devtools.bench.mimepeak import bench_large_mail
from devtools.bench.pipeline import DEFAULT_MAILS, DEFAULT_RATE, bench_pipeline
from devtools.bench.render import bench_render
from services.common.logging import configure_logging
from services.common.settings import REPO_ROOT

SAMPLES = REPO_ROOT / "samples"
RESULTS = REPO_ROOT / "bench" / "results.json"
CHART = REPO_ROOT / "bench" / "latency.png"
PROFILES = REPO_ROOT / "bench" / "profiles"
# Issue 20's load for mail that is not archived: twice the mixed load's rate.
NON_ARCHIVE_RATE = 20.0
# Functions per service in the table on screen (the files and results.json keep more).
SHOWN = 5


def _render_figures() -> dict[str, float]:
    figures = bench_render(SAMPLES)
    # CPU time, not wall time: what other work on a shared machine takes is not rendering's.
    figures["render.mails_per_second_per_core"] = round(1000 / figures["render_cpu_ms.median"], 1)
    return figures


def _table(figures: dict[str, float]) -> Table:
    table = Table(title="Sakspost bench")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in sorted(figures.items()):
        table.add_row(key, f"{value:,.2f}")
    return table


def _goals_table(figures: dict[str, float]) -> Table:
    table = Table(title="Goals (issues 10 and 20; reported, not asserted)")
    table.add_column("goal")
    table.add_column("measured", justify="right")
    table.add_column("met")
    for text, value, met in check_goals(figures):
        shown = "–" if value is None else f"{value:,.1f}"
        table.add_row(text, shown, "–" if met is None else ("yes" if met else "NO"))
    return table


def _hotspots_table(profiles: dict[str, Profile]) -> Table:
    table = Table(title="Where each service's CPU goes (py-spy, share of its samples)")
    table.add_column("service")
    table.add_column("self", justify="right")
    table.add_column("function (innermost)")
    table.add_column("inclusive", justify="right")
    table.add_column("function (on the stack)")
    for name, profile in sorted(profiles.items()):
        for number, (own, anywhere) in enumerate(
            zip(profile.by_self[:SHOWN], profile.by_inclusive[:SHOWN], strict=False)
        ):
            table.add_row(
                name if number == 0 else "",
                f"{own.share:.1%}", own.function, f"{anywhere.share:.1%}", anywhere.function,
            )  # fmt: skip
    return table


def _write_profiles(profiles: dict[str, Profile], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, profile in profiles.items():
        (directory / f"{name}.txt").write_text(as_text(name, profile), "utf-8")


def run(
    mails: int,
    rate: float,
    non_archive_rate: float,
    drain_mails: int,
    profile: bool = True,
    results_path: Path = RESULTS,
    chart: Path = CHART,
) -> dict[str, float]:
    console = Console()
    # The machine is shared: the load before the run says how busy it was with other work.
    load_before = os.getloadavg()
    figures: dict[str, float] = {}
    benchmarks: dict[str, Callable[[], dict[str, float]]] = {
        "classifier": lambda: bench_classifier(SAMPLES),
        "hostile": bench_hostile,
        "render": _render_figures,
        "ingest": bench_ingest,
        # Ingest's memory for a 28 MB and a 140 MB mail (issue 16): in a process of its own.
        "large_mail": bench_large_mail,
        "drain": lambda: bench_drain(drain_mails),
    }
    for name, benchmark in benchmarks.items():
        console.print(f"måler {name} …")
        figures.update(benchmark())
    console.print(f"måler pipeline ({mails} e-postar, {rate:g}/s) …")
    pipeline = bench_pipeline(mails, rate, profile=profile)
    figures.update(pipeline.figures)
    # The same load without arkivverdig mail: what the other stages do when PDF/A rendering does
    # not compete for the same cores.
    console.print(
        f"måler pipeline utan arkivverdig e-post ({mails} e-postar, {non_archive_rate:g}/s) …"
    )
    non_archive = bench_pipeline(mails, non_archive_rate, NON_ARCHIVE, profile=False)
    figures.update(
        {
            f"non_archive.{key}": value
            for key, value in non_archive.figures.items()
            if key.removeprefix("vs_baseline.").startswith(
                ("latency_ms.routed", "latency_ms.notice", "throughput", "cpu_ms")
            )
        }
    )
    load = os.getloadavg()
    latency_chart(
        pipeline.end_to_end,
        pipeline.stages,
        f"Sakspost: {mails} mails at {rate:g}/s, whole local stack, {os.cpu_count()} cores "
        f"(load {load[0]:.1f})",
        chart,
    )
    console.print(_table(figures))
    console.print(_goals_table(figures))
    if pipeline.profiles:
        console.print(_hotspots_table(pipeline.profiles))
        _write_profiles(pipeline.profiles, PROFILES)
        console.print(f"skreiv {PROFILES}/")
    results_path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "cores": os.cpu_count(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in load],
        },
        "figures": figures,
        "hotspots": {name: p.as_json() for name, p in sorted(pipeline.profiles.items())},
    }
    results_path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
    console.print(f"skreiv {results_path} og {chart}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=DEFAULT_MAILS)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="mails per second")
    parser.add_argument(
        "--non-archive-rate",
        type=float,
        default=NON_ARCHIVE_RATE,
        help="mails per second of the run without arkivverdig mail",
    )
    parser.add_argument("--drain-mails", type=int, default=200, help="the backlog")
    parser.add_argument(
        "--no-profile", action="store_true", help="no py-spy on the services (no hotspots)"
    )
    arguments = parser.parse_args()
    # The ingest benchmark runs the service in this process: its per-message logs are not figures.
    configure_logging("bench", level="error", log_format="console")
    run(
        arguments.mails,
        arguments.rate,
        arguments.non_archive_rate,
        arguments.drain_mails,
        not arguments.no_profile,
    )


if __name__ == "__main__":
    main()
