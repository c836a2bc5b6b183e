"""After the faults, a chaos run waits for every mail while the pipeline still moves: a queue that
drains slowly is late, not stuck; a run where nothing moves is stuck."""

from __future__ import annotations

import asyncio

import pytest

from devtools.chaos import run
from devtools.harness.events import EventRecorder
from devtools.harness.progress import Progress

STUCK = 0.5


def _received(case: str) -> bytes:
    return f'{{"type": "received", "case_id": "{case}", "internet_message_id": "{case}"}}'.encode()


def _routed(case: str) -> bytes:
    # privat mail is final once routed, with no assignee to tell
    return f'{{"type": "routed", "case_id": "{case}", "mail_class": "privat"}}'.encode()


@pytest.fixture(autouse=True)
def _short_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "STUCK_SECONDS", STUCK)
    monkeypatch.setattr(run, "SETTLE_SECONDS", 30.0)


async def test_a_queue_that_drains_for_longer_than_the_stuck_bound_is_waited_for() -> None:
    recorder = EventRecorder()
    cases = [f"c{n}" for n in range(6)]
    for case in cases:
        await recorder.add("sakspost.mail.received.post", _received(case), 0.0)

    async def drain() -> None:
        for case in cases:  # one every 0.3 s: 1.8 s in all, more than three times STUCK
            await asyncio.sleep(0.3)
            await recorder.add("sakspost.mail.routed.post", _routed(case), 0.0)

    draining = asyncio.create_task(drain())
    await run.settle(recorder, Progress(set(cases)))
    await draining


async def test_a_run_where_nothing_moves_is_stuck() -> None:
    recorder = EventRecorder()
    await recorder.add("sakspost.mail.received.post", _received("c1"), 0.0)

    with pytest.raises(TimeoutError, match="nothing moved"):
        await run.settle(recorder, Progress({"c1"}))
