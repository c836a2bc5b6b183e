"""Shared fixtures: a real nats-server on a free port, the organisation, the sample corpus."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from nats.aio.client import Client
from nats.js import JetStreamContext

from services.common.natsserver import NatsServer, start_nats_server
from services.common.orgconfig import Organisation, load_organisation
from services.common.seal import SigningKeys
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT, Settings
from services.common.workers import WorkerLimits, WorkerPool
from tests.support.connections import Connect, identities
from tests.support.provisioning import TEST_SETTINGS, provision_as_admin, test_layout
from tests.support.publishing import EventInjector
from tests.support.signing import TEST_KEYS

SAMPLES = REPO_ROOT / "samples"
MIME_EDGE = REPO_ROOT.parent / "shared" / "corpus" / "mime-edge"


# A test that needs one of these runs on real parts: it belongs to the integration tier.
INTEGRATION_FIXTURES = frozenset({"bare_nats_server", "nats_server", "emulator", "standin"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the integration tier; `make test-fast` runs the rest (`-m "not integration"`)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & INTEGRATION_FIXTURES:
            item.add_marker(pytest.mark.integration)


def scenario_scale() -> float:
    """`make test` scales large scenarios down (0.1); `make test-full` runs them whole (1.0)."""
    return float(os.environ.get("SAKSPOST_SCENARIO_SCALE", "0.1"))


def scaled(full_size: int, minimum: int = 10) -> int:
    return max(minimum, round(full_size * scenario_scale()))


# Hostile mail (issue #16): each example may run to a worker's CPU limit, so `make test` draws a
# few and `make test-full` ten times as many. The pool is shared by the examples of one test.
hypothesis_settings.register_profile(
    "hostile",
    max_examples=scaled(120, minimum=12),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def bare_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with Sakspost's accounts (no anonymous login), nothing provisioned."""
    server = start_nats_server(tmp_path / "nats", log_file=tmp_path / "nats-server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def nats_server(bare_nats_server: NatsServer) -> NatsServer:
    """A fresh nats-server, provisioned by admin as `sakspost up` and the provision Job do."""
    await provision_as_admin(bare_nats_server, test_layout())
    return bare_nats_server


@pytest.fixture
def org() -> Organisation:
    return load_organisation(DEFAULT_ORG_CONFIG)


@pytest.fixture
def keys() -> SigningKeys:
    return TEST_KEYS


@pytest.fixture
async def workers() -> AsyncIterator[WorkerPool]:
    """A service's worker pool with the default limits (issue #16)."""
    pool = WorkerPool(WorkerLimits(), "test-worker")
    pool.start()
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def settings(nats_server: NatsServer, tmp_path: Path) -> Settings:
    """Settings that reach the test's server; each service logs in as itself."""
    return nats_server.settings(data_dir=tmp_path / "data", **TEST_SETTINGS)


@pytest.fixture
async def connect_as(nats_server: NatsServer) -> AsyncIterator[Connect]:
    """Connect as an identity (`admin`, `ingest`, …) with exactly its permissions."""
    async with identities(nats_server) as connect:
        yield connect


@pytest.fixture
async def nats_client(connect_as: Callable[[str], Awaitable[Client]]) -> Client:
    """The admin's connection: it may inspect everything, and publish no event."""
    return await connect_as("admin")


@pytest.fixture
async def js(nats_client: Client) -> JetStreamContext:
    """The admin's JetStream on the provisioned server."""
    return nats_client.jetstream()


@pytest.fixture
def injector(connect_as: Callable[[str], Awaitable[Client]]) -> EventInjector:
    """Publish an event as the service that owns its subject (ingest for `received`, …)."""
    return EventInjector(connect_as)


@pytest.fixture
def mime_edge() -> Path:
    if not MIME_EDGE.is_dir():
        pytest.skip(f"the third-party MIME corpus is not beside the repository ({MIME_EDGE})")
    return MIME_EDGE
