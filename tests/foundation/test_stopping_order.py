"""A service's background loops (ingest's upkeep and personal watch, the router's watch, the
notifier's alerts and digests) stop while NATS is still there. Stopped after the broker and the
worker pool closed, ingest's personal watch ran on against both, failing every few hundred
milliseconds, and once kept a stopping ingest from ending until the test's timeout."""

from __future__ import annotations

from services.common.app import ServiceApp
from services.common.orgconfig import Organisation
from services.common.settings import Settings


async def test_stopping_hooks_run_while_nats_is_there_and_shutdown_hooks_after(
    settings: Settings, org: Organisation
) -> None:
    service = ServiceApp("classifier", "test", settings, org)
    seen: list[tuple[str, bool]] = []

    @service.on_stopping
    async def stopping() -> None:
        seen.append(("stopping", await service.broker.ping(timeout=2.0)))

    @service.on_shutdown
    async def shutdown() -> None:
        seen.append(("shutdown", await service.broker.ping(timeout=2.0)))

    async with service.running():
        assert seen == []
    assert seen == [("stopping", True), ("shutdown", False)]
