"""Rendering time per arkivverdig mail of the samples: `python -m devtools.bench.render [DIR]`."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

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


def bench_render(samples: Path = DEFAULT_SAMPLES) -> dict[str, float]:
    """Median and p95 of parse + PDF/A rendering per mail, in milliseconds."""
    files = _arkivverdig_files(samples)
    if not files:
        raise ValueError(f"{samples}: no arkivverdig mail in labels.jsonl")
    # The first rendering loads fonts and stylesheets; it is not what a running service pays.
    warm_up = files[0].read_bytes()
    render_mail_pdf(warm_up, sensitive=False)
    timings = []
    for path in files:
        raw = path.read_bytes()
        started = time.perf_counter()
        render_mail_pdf(raw, sensitive=False)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "render_ms.median": statistics.median(timings),
        "render_ms.p95": _percentile(timings, 0.95),
        "render_ms.max": max(timings),
        "render.mails": float(len(timings)),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SAMPLES
    print(json.dumps(bench_render(target), indent=2))
