"""The environment of a child process (a service, `sakspost …`) that reaches the test's NATS."""

from __future__ import annotations

import os

from services.common.settings import Settings

# A login in the test runner's environment would make every child that identity.
_LOGIN_VARIABLES = ("SAKSPOST_NATS_USER", "SAKSPOST_NATS_PASSWORD", "SAKSPOST_NATS_CREDS_FILE")


def nats_environment(settings: Settings, **extra: str) -> dict[str, str]:
    """`os.environ` plus the server's URLs and credentials folder: the child logs in as the
    identity it needs (a service as itself, `sakspost tail` as integrator, …)."""
    environment = {k: v for k, v in os.environ.items() if k not in _LOGIN_VARIABLES}
    environment["SAKSPOST_NATS_URL"] = settings.nats_url
    if settings.nats_credentials_dir is not None:
        environment["SAKSPOST_NATS_CREDENTIALS_DIR"] = str(settings.nats_credentials_dir)
    # Who the child accepts commands from: Sakspost's app registration and its Entra ID.
    for name, value in (
        ("SAKSPOST_AUTH_TENANT_ID", settings.auth_tenant_id),
        ("SAKSPOST_AUTH_CLIENT_ID", settings.auth_client_id),
        ("SAKSPOST_GRAPH_AUTHORITY", settings.graph_authority),
        ("SAKSPOST_GRAPH_AUTHORITY_CA_FILE", settings.graph_authority_ca_file),
    ):
        if value is not None:
            environment[name] = str(value)
    environment.update(extra)
    return environment
