"""Fixtures: the Graph emulator, a msgraph-sdk client on it, and the router in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from msgraph.graph_service_client import GraphServiceClient
from nats.js import JetStreamContext

from devtools.graph_emulator import RunningEmulator, run_emulator
from services.common.app import ServiceApp
from services.common.graph import make_graph_client
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.router.app import build
from services.router.settings import RouterSettings
from tests.support.publishing import EventInjector

from .support import FakeClock, Mailroom

# The watch never ticks by itself in these tests unless a test asks it to.
QUIET = RouterSettings(watch_interval_seconds=3600, away_cache_seconds=0, case_wait_seconds=60)


@pytest.fixture
async def emulator(org: Organisation) -> AsyncIterator[RunningEmulator]:
    async with run_emulator(org, "127.0.0.1", 0, 0) as running:
        yield running


@pytest.fixture
def router_env(settings: Settings, emulator: RunningEmulator) -> Settings:
    return settings.model_copy(update={"graph_base_url": emulator.graph_url})


@pytest.fixture
def graph(emulator: RunningEmulator) -> GraphServiceClient:
    return make_graph_client(emulator.graph_url)


@pytest.fixture
async def admin(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.base_url) as client:
        yield client


@pytest.fixture
def mailroom(
    org: Organisation,
    js: JetStreamContext,
    injector: EventInjector,
    graph: GraphServiceClient,
    admin: httpx.AsyncClient,
) -> Mailroom:
    return Mailroom(org, js, injector, graph, admin)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def router(router_env: Settings, org: Organisation, clock: FakeClock) -> ServiceApp:
    return build(router_env, org, clock=clock, router_settings=QUIET)
