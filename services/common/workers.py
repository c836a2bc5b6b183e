"""A small pool of worker processes for CPU-heavy work on untrusted input, each task under a
CPU-time limit and each worker under a memory limit (issue #16).

A service's event loop must never run a mail's parse, classification or rendering itself: one
hostile mail would stop its webhook and its acknowledgements. `WorkerPool.run(function, *args)`
sends a picklable top-level function and its arguments to a worker and awaits its result; work
over a limit comes back as an `OverLimit` instead, never as a crash of the service:

- memory: the worker's address space is capped (`RLIMIT_AS`), so an allocation over it raises
  `MemoryError` in the worker, which answers `OverLimit("memory")`;
- CPU time: before each task the worker lowers its own `RLIMIT_CPU` soft limit to what it has used
  plus the task's allowance. The kernel then ends the worker with SIGXCPU, wherever it is: a
  Python handler could not interrupt a regular expression running in C, so none is installed;
- a worker that dies (SIGXCPU, the OOM killer, a crash) is replaced, and its task answered as
  `OverLimit` with the reason its exit says.

A worker that answered over a limit is replaced as well, so that no state a hostile task left
behind (a fragmented heap, a half-built cache) serves the next one. Workers are started by a
forkserver, never forked from the service (its threads and event loop must not be copied), and
each runs one task at a time, so the pool always knows which task a dead worker was running.

What every task of a service needs and never changes (its organisation, its keys, a built
classifier) is paid for once, not per task (issue #20):

- `preload` names modules the forkserver imports once (their import may build a service's
  expensive, read-only state): each worker, the first and every replacement, is forked from it
  with them imported, instead of importing and building them again;
- `share(*values)` gives every task of the pool the same first arguments: they are sent once to
  each worker when it starts, and a task carries only its own values.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import resource
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Literal, TypeVar

import structlog

log = structlog.get_logger(__name__)

R = TypeVar("R")
Limit = Literal["cpu", "memory", "crashed"]
MiB = 1024 * 1024
_STOP_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class WorkerLimits:
    """How many workers, and what one task may spend (configuration: `settings.worker_limits`)."""

    workers: int = 1
    cpu_seconds: float = 60.0
    memory_bytes: int = 2048 * MiB


@dataclass(frozen=True, slots=True)
class OverLimit:
    """A task that did not finish within its limits: `cpu`, `memory`, or `crashed` (the worker
    died for another reason, e.g. the OOM killer or a signal)."""

    limit: Limit


class WorkerError(RuntimeError):
    """The task raised in the worker (or its result could not be sent back): a bug in the
    function, not a limit. The message names the exception's type and its frames."""


# --- in the worker ------------------------------------------------------------------------------


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _limit_cpu(seconds: float | None) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = resource.RLIM_INFINITY if seconds is None else math.ceil(_cpu_used() + seconds)
    if hard != resource.RLIM_INFINITY and soft != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _failure(error: BaseException) -> tuple[str, str]:
    """An exception's type and where it was raised, without its message: a message may quote
    the mail (a header, a word of the body), and the service logs what it gets back."""
    frames = "".join(traceback.format_tb(error.__traceback__, limit=20))
    return ("error", f"{type(error).__name__} in the worker:\n{frames}")


# How a worker ends when a task did not fit in its memory before it could run (`_serve`).
_OVER_MEMORY_EXIT = 75


def _serve(conn: Connection, limits: WorkerLimits, shared: tuple[Any, ...]) -> None:
    """The worker's loop: one task at a time until the pool closes the connection."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # When the pod's memory runs out, the kernel's OOM killer must pick the worker holding the
    # hostile mail, never the service: the pool then answers `OverLimit("memory")`.
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")
    # The kernel's SIGXCPU must end the worker; the service's SIGINT (Ctrl-C) is for the service.
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            function, args = conn.recv()
        except (EOFError, OSError):
            return
        except MemoryError:
            # The task itself (a large mail) did not fit under the limit: as much over it as a
            # task that runs out while it works. What is left of it in the pipe cannot be read
            # past, so the worker ends (the pool, perhaps still sending, sees its exit code).
            with contextlib.suppress(OSError):
                conn.send(("over", "memory"))
            os._exit(_OVER_MEMORY_EXIT)
        except Exception as error:  # the task could not be unpickled here
            conn.send(_failure(error))
            continue
        _limit_cpu(limits.cpu_seconds)
        try:
            answer: tuple[str, Any] = ("result", function(*shared, *args))
        except MemoryError:
            answer = ("over", "memory")
        except Exception as error:
            answer = _failure(error)
        finally:
            _limit_cpu(None)
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("over", "memory"))
        except Exception as error:  # a result that cannot be pickled is a bug, not a limit
            conn.send(_failure(error))


# --- in the service -----------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Worker:
    process: BaseProcess
    conn: Connection

    def call(self, function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
        """Send a task and wait for its answer (in a thread: pickling a large mail and waiting
        both block); a dead worker is an `EOFError`."""
        self.conn.send((function, args))
        answer: tuple[str, Any] = self.conn.recv()
        return answer

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        self.process.join(_STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _exit_limit(exitcode: int | None) -> Limit:
    if exitcode == -signal.SIGXCPU:
        return "cpu"
    if exitcode == _OVER_MEMORY_EXIT:
        return "memory"
    # SIGKILL is how the kernel's OOM killer ends a process.
    return "memory" if exitcode == -signal.SIGKILL else "crashed"


class WorkerPool:
    """`limits.workers` worker processes; `run` waits for a free one. `run` on a pool not
    started starts it; a service closes it when it stops (`ServiceApp.workers`). `preload`: the
    modules the forkserver imports before forking any worker (it is one per service process, so
    the first pool started decides)."""

    def __init__(
        self, limits: WorkerLimits, name: str = "workers", preload: tuple[str, ...] = ()
    ) -> None:
        self.limits = limits
        self._name = name
        self._context = multiprocessing.get_context("forkserver")
        self._preload = preload
        self._shared: tuple[object, ...] = ()
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self.replaced = 0  # workers replaced after a limit or a crash (for tests and statusz)

    def _spawn(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(theirs, self.limits, self._shared), name=self._name, daemon=True
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        self._all.add(worker)
        return worker

    def share(self, *values: object) -> None:
        """`values` become the first arguments of every task `run` sends (picklable, and the
        same for every task: sent once to each worker as it starts). Before the pool starts."""
        if self._idle is not None:
            raise RuntimeError("a pool's shared values are given before it starts")
        self._shared = values

    def start(self) -> None:
        if self._idle is not None:
            return
        if self._preload:
            # "__main__" is the forkserver's own default: the service's main module.
            self._context.set_forkserver_preload(["__main__", *self._preload])
        self._idle = asyncio.Queue()
        for _ in range(self.limits.workers):
            self._idle.put_nowait(self._spawn())

    async def close(self) -> None:
        workers, self._all, self._idle = list(self._all), set(), None
        await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in workers))

    def _release(self, idle: asyncio.Queue[_Worker], worker: _Worker) -> None:
        if self._idle is idle:
            idle.put_nowait(worker)
        else:  # the pool was closed while the task ran
            self._all.discard(worker)
            worker.process.kill()

    async def _replace(self, idle: asyncio.Queue[_Worker], worker: _Worker) -> None:
        """A fresh worker in `worker`'s place; the old one is stopped (killed if need be). The
        new one is in the pool before anything is awaited, so a cancelled caller loses none."""
        self._all.discard(worker)
        self.replaced += 1
        self._release(idle, self._spawn())
        await asyncio.to_thread(worker.stop)

    async def run(self, function: Callable[..., R], *args: object) -> R | OverLimit:
        """`function(*shared, *args)` in a worker: its result, or `OverLimit`. An exception it
        raised is re-raised here as `WorkerError`."""
        self.start()
        idle = self._idle
        assert idle is not None
        worker = await idle.get()
        try:
            kind, value = await asyncio.to_thread(worker.call, function, args)
        except asyncio.CancelledError:
            # Abandoned: its answer must not reach the next task, so the worker goes at once.
            worker.process.kill()
            self._all.discard(worker)
            self.replaced += 1
            self._release(idle, self._spawn())
            raise
        except (EOFError, OSError):
            await asyncio.to_thread(worker.process.join, _STOP_SECONDS)
            limit = _exit_limit(worker.process.exitcode)
            log.warning("worker ended over a limit", pool=self._name, limit=limit)
            await self._replace(idle, worker)
            return OverLimit(limit)
        if kind == "over":
            log.warning("task over a limit", pool=self._name, limit=value)
            await self._replace(idle, worker)
            return OverLimit(value)
        self._release(idle, worker)
        if kind == "error":
            raise WorkerError(value)
        result: R = value
        return result
