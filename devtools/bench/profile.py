"""py-spy attached to running processes for the length of a benchmark: where their CPU goes.

Each process gets a `py-spy record --subprocesses --nonblocking` of its own (its worker pool's
children included); `--nonblocking` reads the process's memory without pausing it, so the
profiled service runs at full speed and its CPU figures stay comparable (py-spy's own CPU is its
own process's). Stopped with SIGINT, py-spy writes its raw stacks, which `hotspots.py` ranks.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from devtools.bench.hotspots import Profile, hotspots

# Samples per second per process: enough for a ranking over a run of a minute, light on 2 cores.
RATE = 50
# Longer than any run; the benchmark stops py-spy itself.
MAX_SECONDS = 3600


def py_spy() -> str:
    """The py-spy next to this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed (it is a development dependency)")
    return found


@dataclass
class Profiler:
    pids: dict[str, int]
    directory: Path
    _running: dict[str, asyncio.subprocess.Process] = field(default_factory=dict, init=False)

    def _raw(self, name: str) -> Path:
        return self.directory / f"{name}.raw.txt"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tool = py_spy()
        for name, pid in self.pids.items():
            self._running[name] = await asyncio.create_subprocess_exec(
                tool, "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
                "--rate", str(RATE), "--duration", str(MAX_SECONDS),
                "--format", "raw", "--output", str(self._raw(name)),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip

    async def stop(self) -> dict[str, Profile]:
        """Stop every py-spy (each writes its file) and rank what each recorded."""
        for process in self._running.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
        profiles: dict[str, Profile] = {}
        for name, process in self._running.items():
            await process.wait()
            raw = self._raw(name)
            if raw.exists():
                profiles[name] = hotspots(raw.read_text("utf-8", errors="replace"))
        self._running.clear()
        return profiles
