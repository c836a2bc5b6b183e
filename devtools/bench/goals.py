"""The issue's goals checked against measured figures (pure): reported, never asserted in tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    text: str
    figure: str
    met: Callable[[float], bool]


GOALS = (
    Goal("p95 notification→routed < 1000 ms at 10 mails/s (issue 10)", "latency_ms.routed.p95",
         lambda v: v < 1000),
    Goal("non-archive p95 notification→routed < 500 ms at 20 mails/s",
         "non_archive.latency_ms.routed.p95", lambda v: v < 500),
    Goal("CPU per non-archive mail ≤ 20 ms, all services", "non_archive.cpu_ms_per_mail.total",
         lambda v: v <= 20),
    Goal("CPU per mail with ~40 % archival ≤ 120 ms", "cpu_ms_per_mail.total",
         lambda v: v <= 120),
    Goal("non-archive drain ≥ 40 mails/s (2 replicas)", "drain.replicas_2.routed_per_second",
         lambda v: v >= 40),
    Goal("archival rendering ≥ 10 mails/s per core", "render.mails_per_second_per_core",
         lambda v: v >= 10),
    Goal("≤ 1.0 Graph reads per mail", "graph.reads_per_mail", lambda v: v <= 1.0),
    Goal("no Graph read caused by our write-backs", "graph.reads_caused_by_write_backs",
         lambda v: v == 0),
    Goal("peak RSS per process < 150 MB", "rss_mb.max", lambda v: v < 150),
)  # fmt: skip


def check_goals(figures: dict[str, float]) -> list[tuple[str, float | None, bool | None]]:
    """(goal, measured value or None when not measured, met or None)."""
    rows: list[tuple[str, float | None, bool | None]] = []
    for goal in GOALS:
        value = figures.get(goal.figure)
        rows.append((goal.text, value, None if value is None else goal.met(value)))
    return rows
