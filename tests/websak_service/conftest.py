"""Fixtures of the websak service tests: the WebSak stand-in over HTTP, and the service on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import pytest
from pydantic import SecretStr

from devtools.graph_emulator import run_emulator
from devtools.websak_standin import RunningStandIn, run_standin
from devtools.websak_standin.runner import DEFAULT_TOKEN
from schemas.events import utc_now
from services.common.app import ServiceApp
from services.common.clock import Clock
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.websak.app import Wiring, build
from services.websak.config import ArchivingOptions, MarkerKey, WebSakConnection
from tests.support.tokens import Issuer

# The filing marker's key in these tests (a real one comes from a Secret, or `sakspost up`).
MARKER_KEY = MarkerKey(marker_key=SecretStr("websak-service-tests-marker-key-0123456789"))


class ServiceFactory(Protocol):
    def __call__(
        self,
        *,
        alert_after_seconds: float = ...,
        clock: Clock = ...,
        settings: Settings | None = ...,
    ) -> ServiceApp: ...


@pytest.fixture
async def standin(tmp_path: Path) -> AsyncIterator[RunningStandIn]:
    async with run_standin(tmp_path / "websak") as running:
        yield running


def wiring_for(url: str, *, alert_after_seconds: float = 900, clock: Clock = utc_now) -> Wiring:
    return Wiring(
        connection=WebSakConnection(base_url=url, token=SecretStr(DEFAULT_TOKEN), timeout_s=10),
        options=ArchivingOptions(alert_after_seconds=alert_after_seconds),
        marker_key=MARKER_KEY,
        clock=clock,
    )


@pytest.fixture
async def entra(org: Organisation) -> AsyncIterator[Issuer]:
    """The Graph emulator's Entra ID, for tests that send websak commands with tokens."""
    async with run_emulator(org) as running:
        yield Issuer.of(running)


@pytest.fixture
def websak(settings: Settings, org: Organisation, standin: RunningStandIn) -> ServiceFactory:
    """`websak(alert_after_seconds=..., clock=..., settings=...)`: the service on the stand-in,
    not started (`settings`: other than the test's, e.g. an Entra ID for commands)."""
    test_settings = settings

    def make(
        *,
        alert_after_seconds: float = 900,
        clock: Clock = utc_now,
        settings: Settings | None = None,
    ) -> ServiceApp:
        wiring = wiring_for(standin.url, alert_after_seconds=alert_after_seconds, clock=clock)
        return build(settings or test_settings, org, wiring)

    return make
