"""Peak resident memory and CPU time of each service process while a benchmark runs.

psutil has no event for "memory grew", so a background task samples RSS every
`SAMPLE_SECONDS`; CPU time is the process's own counter, read at the start and at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import psutil

SAMPLE_SECONDS = 0.25
MB = 1024 * 1024


@dataclass
class ProcessWatch:
    pids: dict[str, int]
    peak_rss: dict[str, int] = field(default_factory=dict)
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_end: dict[str, float] = field(default_factory=dict)
    _processes: dict[str, psutil.Process] = field(default_factory=dict, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def _cpu(self, process: psutil.Process) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    def _sample(self) -> None:
        for name, process in self._processes.items():
            with contextlib.suppress(psutil.Error):
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), process.memory_info().rss)

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(SAMPLE_SECONDS)

    def start(self) -> None:
        self._processes = {name: psutil.Process(pid) for name, pid in self.pids.items()}
        self.cpu_start = {name: self._cpu(p) for name, p in self._processes.items()}
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()
        for name, process in self._processes.items():
            with contextlib.suppress(psutil.Error):
                self.cpu_end[name] = self._cpu(process)

    def figures(self, mails: int) -> dict[str, float]:
        """`rss_mb.<name>`, `rss_mb.max` and `cpu_ms_per_mail.<name>` (and `.total`)."""
        figures: dict[str, float] = {}
        for name, peak in self.peak_rss.items():
            figures[f"rss_mb.{name}"] = round(peak / MB, 1)
        if self.peak_rss:
            figures["rss_mb.max"] = round(max(self.peak_rss.values()) / MB, 1)
        total = 0.0
        for name, end in self.cpu_end.items():
            used = end - self.cpu_start[name]
            total += used
            figures[f"cpu_ms_per_mail.{name}"] = round(1000 * used / max(1, mails), 2)
        figures["cpu_ms_per_mail.total"] = round(1000 * total / max(1, mails), 2)
        return figures
