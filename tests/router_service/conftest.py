"""Fixtures: the Graph emulator (also the Entra ID that signs the commands' tokens), a
msgraph-sdk client on it, and the router in-process."""

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
from services.common.orgconfig import Operator, Organisation
from services.common.settings import Settings
from services.router.app import build
from services.router.settings import RouterSettings
from tests.support.publishing import EventInjector
from tests.support.tokens import Issuer

from .support import FakeClock, Mailroom

OPERATOR_ID = "drift"
OPERATOR_APP = "0d1e2f3a-0000-4000-8000-00000000d41f"
# The watch never ticks by itself in these tests unless a test asks it to.
QUIET = RouterSettings(watch_interval_seconds=3600, away_cache_seconds=0, case_wait_seconds=60)


@pytest.fixture
async def emulator(org: Organisation) -> AsyncIterator[RunningEmulator]:
    async with run_emulator(org, "127.0.0.1", 0, 0) as running:
        yield running


@pytest.fixture
def org(org: Organisation) -> Organisation:
    """The organisation file with one operator, signed in as its own application."""
    return org.model_copy(
        update={"operators": [Operator(id=OPERATOR_ID, name="Drift", app_id=OPERATOR_APP)]}
    )


@pytest.fixture
def issuer(emulator: RunningEmulator) -> Issuer:
    return Issuer.of(emulator)


@pytest.fixture
def router_env(settings: Settings, emulator: RunningEmulator, issuer: Issuer) -> Settings:
    """The router's settings: Graph and Entra ID are the emulator's."""
    return issuer.settings(settings.model_copy(update={"graph_base_url": emulator.graph_url}))


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
