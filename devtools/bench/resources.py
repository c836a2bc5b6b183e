"""Peak resident memory and CPU time of each process, with its descendants, while a benchmark runs.

psutil has no event for "memory grew", so a background task samples every `SAMPLE_SECONDS`. A
service's CPU includes its worker processes' (the worker pool's forkserver and workers, which do
the parsing and rendering): each process in the tree is read at the start, at every sample and at
the end, and its CPU is its last reading less its first (0 for a process started during the run).
A worker that ends between two samples loses at most one sample's CPU. Peak RSS is the service
process's own (each worker is capped on its own, issue 16).
Processes named in `apart` (the Graph emulator, nats-server: not Sakspost's) are measured as well
but left out of the totals and the peak, so Sakspost's cost is not mixed with its test doubles'.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import psutil

SAMPLE_SECONDS = 0.25
MB = 1024 * 1024
# A process in a tree: its pid and start time (a pid can be reused).
Key = tuple[int, float]


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _tree(root: psutil.Process) -> dict[Key, float]:
    """CPU seconds of `root` and every living descendant."""
    readings: dict[Key, float] = {}
    with contextlib.suppress(psutil.Error):
        members = [root, *root.children(recursive=True)]
        for process in members:
            with contextlib.suppress(psutil.Error):
                readings[(process.pid, process.create_time())] = _cpu(process)
    return readings


@dataclass
class ProcessWatch:
    pids: dict[str, int]
    apart: frozenset[str] = frozenset()
    peak_rss: dict[str, int] = field(default_factory=dict)
    cpu_first: dict[str, dict[Key, float]] = field(default_factory=dict)
    cpu_last: dict[str, dict[Key, float]] = field(default_factory=dict)
    _processes: dict[str, psutil.Process] = field(default_factory=dict, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def _sample(self) -> None:
        for name, process in self._processes.items():
            with contextlib.suppress(psutil.Error):
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), process.memory_info().rss)
            self.cpu_last.setdefault(name, {}).update(_tree(process))

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(SAMPLE_SECONDS)

    def start(self) -> None:
        self._processes = {name: psutil.Process(pid) for name, pid in self.pids.items()}
        self.cpu_first = {name: _tree(p) for name, p in self._processes.items()}
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()

    def cpu_seconds(self, name: str) -> float:
        first = self.cpu_first.get(name, {})
        return sum(last - first.get(key, 0.0) for key, last in self.cpu_last.get(name, {}).items())

    def figures(self, mails: int) -> dict[str, float]:
        """`rss_mb.<name>`, `rss_mb.max` and `cpu_ms_per_mail.<name>` (and `.total`); `max` and
        `total` are Sakspost's own (without the processes `apart`)."""
        figures: dict[str, float] = {}
        for name, peak in self.peak_rss.items():
            figures[f"rss_mb.{name}"] = round(peak / MB, 1)
        own_peaks = [peak for name, peak in self.peak_rss.items() if name not in self.apart]
        if own_peaks:
            figures["rss_mb.max"] = round(max(own_peaks) / MB, 1)
        total = 0.0
        for name in self._processes:
            used = self.cpu_seconds(name)
            if name not in self.apart:
                total += used
            figures[f"cpu_ms_per_mail.{name}"] = round(1000 * used / max(1, mails), 2)
        figures["cpu_ms_per_mail.total"] = round(1000 * total / max(1, mails), 2)
        return figures
