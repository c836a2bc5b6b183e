"""The worker pool (issue #16): results, typed over-limit outcomes, replaced workers."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator

import pytest

from services.common.workers import MiB, OverLimit, WorkerError, WorkerLimits, WorkerPool

# The kernel counts CPU time in whole seconds: one is the lowest limit there is.
LIMITS = WorkerLimits(workers=2, cpu_seconds=1, memory_bytes=768 * MiB)


def add(a: int, b: int) -> int:
    return a + b


def spin() -> None:
    while True:
        pass


def catastrophic_regex() -> bool:
    # Exponential backtracking in C: no Python signal handler could interrupt it.
    return re.match(r"(a*)*b", "a" * 64) is not None


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * MiB))


def die() -> None:
    os._exit(3)


def fail() -> None:
    # Built here, so that the traceback's source line does not hold the message itself.
    raise ValueError("-".join(["words", "of", "the", "mail"]))


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    workers = WorkerPool(LIMITS, "test-worker")
    workers.start()
    try:
        yield workers
    finally:
        await workers.close()


async def test_a_task_returns_its_result(pool: WorkerPool) -> None:
    assert await pool.run(add, 2, 3) == 5
    assert await asyncio.gather(*(pool.run(add, i, i) for i in range(6))) == [0, 2, 4, 6, 8, 10]


@pytest.mark.parametrize("task", [spin, catastrophic_regex])
async def test_a_task_over_its_cpu_time_is_over_limit_and_its_worker_replaced(
    pool: WorkerPool, task: object
) -> None:
    assert await pool.run(task) == OverLimit("cpu")  # type: ignore[arg-type]
    assert pool.replaced == 1
    assert await pool.run(add, 1, 1) == 2


async def test_a_task_over_its_memory_is_over_limit(pool: WorkerPool) -> None:
    assert await pool.run(allocate, 1024) == OverLimit("memory")
    assert pool.replaced == 1
    assert await pool.run(allocate, 16) == 16 * MiB


def length(data: bytes) -> int:
    return len(data)


async def test_a_task_too_large_to_receive_under_the_memory_limit_is_over_limit(
    pool: WorkerPool,
) -> None:
    # The worker runs out while it unpickles the task itself (a large mail), before it runs.
    assert await pool.run(length, b"x" * (1024 * MiB)) == OverLimit("memory")
    assert await pool.run(length, b"x" * 16) == 16


async def test_a_worker_that_dies_is_replaced(pool: WorkerPool) -> None:
    assert await pool.run(die) == OverLimit("crashed")
    assert await pool.run(add, 1, 2) == 3


def unpicklable() -> object:
    return (n for n in range(1))


async def test_an_exception_in_the_task_is_raised_without_its_message(pool: WorkerPool) -> None:
    """A message may quote the mail; the type and the frames say where the bug is."""
    with pytest.raises(WorkerError, match="ValueError in the worker") as raised:
        await pool.run(fail)
    assert "words-of-the-mail" not in str(raised.value)
    assert "in fail" in str(raised.value)
    with pytest.raises(WorkerError, match="TypeError in the worker"):
        await pool.run(unpicklable)
    assert pool.replaced == 0
    assert await pool.run(add, 1, 2) == 3


async def test_an_abandoned_task_never_answers_the_next_one() -> None:
    small = WorkerPool(WorkerLimits(workers=1, cpu_seconds=30, memory_bytes=768 * MiB))
    small.start()
    try:
        running = asyncio.create_task(small.run(spin))
        await asyncio.sleep(0)  # one turn of the loop: the task now holds the only worker
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert small.replaced == 1
        assert await small.run(add, 20, 22) == 42
    finally:
        await small.close()


def die_given(shared: int) -> None:
    os._exit(shared)


async def test_shared_values_lead_every_task_also_in_a_replaced_worker() -> None:
    """`share` sends them once per worker: a worker started after a crash has them too."""
    shared = WorkerPool(LIMITS, "test-worker")
    shared.share(10)
    try:
        assert await shared.run(add, 5) == 15
        assert await shared.run(die_given) == OverLimit("crashed")
        assert await shared.run(add, 7) == 17
        with pytest.raises(RuntimeError):
            shared.share(20)
    finally:
        await shared.close()
