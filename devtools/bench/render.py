"""Rendering time per arkivverdig mail of the samples: `python -m devtools.bench.render [DIR]`.

Per mail on one core: wall time (`render_ms.*`) and the process's CPU time (`render_cpu_ms.*`,
which other load on a shared machine does not inflate). Then every sample once more through
websak's worker pool, sized as websak sizes it (`SAKSPOST_WEBSAK_WORKERS`, one per CPU by default):
`render.pool_mails_per_second` is what the pool renders together, under the workers' limits.

`render.harfbuzz_subset` says whether HarfBuzz's subsetter was found (1) or WeasyPrint fell back to
fontTools (0), which costs about four times as much per mail: the image has it
(`libharfbuzz-subset0`), a development machine may not.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from weasyprint.text.ffi import harfbuzz_subset  # type: ignore[import-untyped]

from services.common.settings import Settings
from services.common.workers import OverLimit
from services.websak.app import rendering_workers
from services.websak.config import ArchivingOptions
from services.websak.render import render_mail_pdf

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _arkivverdig_files(samples: Path) -> list[Path]:
    files = []
    for line in (samples / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label["class"] == "arkivverdig":
            files.append(samples / label["file"])
    return files


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _render(raw: bytes) -> int:
    """One rendering, as websak's worker runs it; only the size comes back (less to pickle)."""
    return len(render_mail_pdf(raw, sensitive=False))


async def _pool_mails_per_second(mails: list[bytes]) -> tuple[float, int]:
    """All `mails` through websak's worker pool at once: mails per second, and its workers."""
    pool = rendering_workers(Settings(), ArchivingOptions(), "sakspost-bench-render")
    try:
        # Each worker's first rendering loads fonts and the page style, as a service's does once.
        await asyncio.gather(*(pool.run(_render, mails[0]) for _ in range(pool.limits.workers)))
        started = time.perf_counter()
        results = await asyncio.gather(*(pool.run(_render, raw) for raw in mails))
        elapsed = time.perf_counter() - started
    finally:
        await pool.close()
    if any(isinstance(result, OverLimit) for result in results):
        raise RuntimeError("a sample's rendering went over the workers' limits")
    return len(mails) / elapsed, pool.limits.workers


def bench_render(samples: Path = DEFAULT_SAMPLES) -> dict[str, float]:
    """Median and p95 of parse + PDF/A rendering per mail, in milliseconds of wall and CPU time,
    and the worker pool's throughput."""
    files = _arkivverdig_files(samples)
    if not files:
        raise ValueError(f"{samples}: no arkivverdig mail in labels.jsonl")
    mails = [path.read_bytes() for path in files]
    # The first rendering loads fonts and stylesheets; it is not what a running service pays.
    render_mail_pdf(mails[0], sensitive=False)
    timings, cpu_timings = [], []
    for raw in mails:
        started, started_cpu = time.perf_counter(), time.process_time()
        render_mail_pdf(raw, sensitive=False)
        cpu_timings.append((time.process_time() - started_cpu) * 1000)
        timings.append((time.perf_counter() - started) * 1000)
    pool_rate, pool_workers = asyncio.run(_pool_mails_per_second(mails))
    return {
        "render_ms.median": statistics.median(timings),
        "render_ms.p95": _percentile(timings, 0.95),
        "render_ms.max": max(timings),
        "render_cpu_ms.median": statistics.median(cpu_timings),
        "render_cpu_ms.mean": statistics.fmean(cpu_timings),
        "render_cpu_ms.p95": _percentile(cpu_timings, 0.95),
        "render.mails": float(len(timings)),
        "render.pool_workers": float(pool_workers),
        "render.pool_mails_per_second": pool_rate,
        "render.harfbuzz_subset": 1.0 if harfbuzz_subset is not None else 0.0,
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SAMPLES
    print(json.dumps(bench_render(target), indent=2))
