"""The latency chart: end-to-end distributions and the time each stage takes (PNG, Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write the file only

import matplotlib.pyplot as plt  # the backend is chosen above, before pyplot loads
from matplotlib.axes import Axes


def _cdf(axis: Axes, values: list[float], label: str) -> None:
    ordered = sorted(values)
    fractions = [(n + 1) / len(ordered) for n in range(len(ordered))]
    axis.step(ordered, fractions, where="post", label=f"{label} (n={len(ordered)})")


def latency_chart(
    end_to_end: dict[str, list[float]], stages: dict[str, list[float]], title: str, path: Path
) -> None:
    """Left: the share of mails (y) done within a latency (x, log scale) for each end point.
    Right: one box per stage (median, quartiles, whiskers at 5th and 95th percentiles)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    for label, values in end_to_end.items():
        if values:
            _cdf(left, values, label)
    left.axhline(0.95, color="grey", linewidth=0.8, linestyle=":")
    left.set_xscale("log")
    left.set_xlabel("ms from the Graph notification (log scale)")
    left.set_ylabel("share of mails")
    left.set_title("End to end")
    left.grid(True, which="both", alpha=0.3)
    left.legend(loc="lower right")

    named = [(name, values) for name, values in stages.items() if values]
    right.boxplot(
        [values for _, values in named],
        tick_labels=[f"{name}\n(n={len(values)})" for name, values in named],
        whis=(5, 95),
        showfliers=False,
    )
    right.set_yscale("log")
    right.set_ylabel("ms (log scale)")
    right.set_title("Per stage (boxes: quartiles; whiskers: p5–p95)")
    right.grid(True, axis="y", which="both", alpha=0.3)

    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
