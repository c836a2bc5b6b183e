"""Provisioning for tests, as `sakspost provision` does it: the full layout, created by admin.

Shared by the fixtures (`tests/conftest.py`) and by tests that provision with other settings, e.g.
a consumer with a different acknowledgement wait (`websak_service/test_crash.py`).
"""

from __future__ import annotations

import functools
from typing import Any

from devtools.graph_emulator.emulator import APPLICATION_ID, tenant_id_for
from sakspost.registry import full_layout
from services.common.connect import connect_login
from services.common.jetstream import Layout, ProvisionResult, provision
from services.common.natsserver import NatsServer
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, Settings

# Quick retries for tests; the consumers are provisioned with the same acknowledgement wait.
# Services that answer commands start only with Sakspost's app registration: the emulator's
# tenant and app (a test that sends commands points the authority at its emulator too).
TEST_SETTINGS: dict[str, Any] = {
    "retry_base_seconds": 0.05,
    "retry_max_seconds": 0.5,
    "ack_wait_seconds": 5,
    "auth_tenant_id": tenant_id_for(load_organisation(DEFAULT_ORG_CONFIG).domain),
    "auth_client_id": APPLICATION_ID,
}


@functools.cache
def test_layout() -> Layout:
    """Everything `sakspost provision` creates, with the test settings (built once per run)."""
    return layout_for(Settings(**TEST_SETTINGS))


def layout_for(settings: Settings) -> Layout:
    """Everything `sakspost provision` creates for these settings and the default organisation."""
    return full_layout(settings, load_organisation(DEFAULT_ORG_CONFIG))


async def provision_as_admin(server: NatsServer, layout: Layout) -> ProvisionResult:
    """Bring the server to `layout` as admin, the only identity that may; what happened to each."""
    connection = await connect_login(server.login("admin"), "test-provision")
    try:
        return await provision(connection.jetstream(), layout)
    finally:
        await connection.close()
