"""Fixtures of the WebSak tests: the stand-in on a free port, the adapter, the contract check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openapi_core import OpenAPI

from devtools.websak_standin import RunningStandIn, run_standin
from devtools.websak_standin.runner import DEFAULT_TOKEN
from services.websak.acos import AcosWebSakArchive
from services.websak.config import WebSakPlacement, load_placement
from services.websak.tokens import StaticToken
from tests.websak.contract import ContractRecorder, load_contract

# The filing marker's key in these tests (a real one comes from a Secret, or `sakspost up`).
MARKER_KEY = b"websak-tests-marker-key-0123456789abcdef"


@pytest.fixture(scope="session")
def contract() -> OpenAPI:
    return load_contract()


@pytest.fixture(scope="session")
def placement() -> WebSakPlacement:
    return load_placement()


@pytest.fixture
async def standin(tmp_path: Path) -> AsyncIterator[RunningStandIn]:
    async with run_standin(tmp_path / "websak") as running:
        yield running


@pytest.fixture
def recorder(contract: OpenAPI) -> ContractRecorder:
    return ContractRecorder(contract)


@pytest.fixture
async def archive(
    standin: RunningStandIn, recorder: ContractRecorder
) -> AsyncIterator[AcosWebSakArchive]:
    client = httpx.AsyncClient(
        base_url=standin.url,
        timeout=10,
        event_hooks={"request": [recorder.on_request], "response": [recorder.on_response]},
    )
    yield AcosWebSakArchive(client, StaticToken(DEFAULT_TOKEN))
    await client.aclose()


@pytest.fixture
async def admin(standin: RunningStandIn) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client for the stand-in's extension routes (state, files, faults)."""
    async with httpx.AsyncClient(base_url=standin.url, timeout=10) as client:
        yield client
