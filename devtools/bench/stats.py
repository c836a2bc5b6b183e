"""Summaries of measured samples (pure): percentiles by the nearest-rank method."""

from __future__ import annotations

import math


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of all values at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float], prefix: str) -> dict[str, float]:
    """`prefix.p50`, `.p95`, `.p99`, `.max` and `.count` of `values` (rounded to 0.1)."""
    if not values:
        return {f"{prefix}.count": 0.0}
    figures = {f"{prefix}.p{round(f * 100)}": percentile(values, f) for f in (0.5, 0.95, 0.99)}
    figures[f"{prefix}.max"] = max(values)
    figures = {key: round(value, 1) for key, value in figures.items()}
    figures[f"{prefix}.count"] = float(len(values))
    return figures
