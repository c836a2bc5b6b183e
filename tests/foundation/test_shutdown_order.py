"""A service's worker pool closes after its shutdown hooks: a background loop is cancelled in a
hook and may hand work to the pool until then. Closed first, the pool was started again by such
a loop, and its new processes outlived the service."""

from __future__ import annotations

import multiprocessing

from services.common.app import ServiceApp
from services.common.orgconfig import Organisation
from services.common.settings import Settings


async def test_the_worker_pool_closes_after_the_shutdown_hooks(
    settings: Settings, org: Organisation
) -> None:
    service = ServiceApp("classifier", "test", settings, org)
    pool = service.workers()
    answers: list[object] = []

    @service.on_shutdown
    async def last_work() -> None:
        answers.append(await pool.run(len, "ab"))

    async with service.running():
        pass
    assert answers == [2]
    left = [p for p in multiprocessing.active_children() if p.name == "sakspost-classifier-worker"]
    assert left == []
