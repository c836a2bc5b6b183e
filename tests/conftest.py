"""Shared fixtures: a real nats-server on a free port, the organisation, the sample corpus."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from services.common.jetstream import base_layout, provision
from services.common.natsserver import NatsServer, start_nats_server
from services.common.orgconfig import Organisation, load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT, Settings

SAMPLES = REPO_ROOT / "samples"
MIME_EDGE = REPO_ROOT.parent / "shared" / "corpus" / "mime-edge"


# A test that needs one of these runs on real parts: it belongs to the integration tier.
INTEGRATION_FIXTURES = frozenset({"nats_server", "emulator", "standin"})


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


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream, in a temp dir, on a free port."""
    server = start_nats_server(tmp_path / "nats", log_file=tmp_path / "nats-server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def org() -> Organisation:
    return load_organisation(DEFAULT_ORG_CONFIG)


@pytest.fixture
def settings(nats_server: NatsServer, tmp_path: Path) -> Settings:
    return Settings(
        nats_url=nats_server.url,
        data_dir=tmp_path / "data",
        retry_base_seconds=0.05,
        retry_max_seconds=0.5,
        ack_wait_seconds=5,
    )


@pytest.fixture
async def nats_client(nats_server: NatsServer) -> AsyncIterator[Client]:
    connection = await nats.connect(nats_server.url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def js(nats_client: Client, settings: Settings) -> JetStreamContext:
    """JetStream with Sakspost's layout provisioned."""
    context = nats_client.jetstream()
    await provision(context, base_layout(settings))
    return context


@pytest.fixture
def mime_edge() -> Path:
    if not MIME_EDGE.is_dir():
        pytest.skip(f"the third-party MIME corpus is not beside the repository ({MIME_EDGE})")
    return MIME_EDGE
