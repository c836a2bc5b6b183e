"""The one way a Sakspost process connects to NATS: a FastStream broker with tracing."""

from __future__ import annotations

import logging
from typing import Any

import structlog
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.security import NatsUserPassword

from services.common.credentials import CredentialsError, NatsLogin, login_for
from services.common.settings import Settings
from services.common.telemetry import configure_tracing


def service_login(settings: Settings, name: str) -> NatsLogin:
    """The service's login; without one, a login-less placeholder for building offline (AsyncAPI
    export, FastStream's in-memory test broker): a real connection checks the login first
    (`ServiceApp`) and says which is missing."""
    try:
        return login_for(settings, name)
    except CredentialsError:
        return NatsLogin(name, tuple(settings.nats_servers), None)


def make_broker(settings: Settings, name: str, login: NatsLogin | None = None) -> NatsBroker:
    """A broker that logs in as identity `name` (its login from the settings, else `login`),
    reconnects forever, stops gracefully and carries W3C trace context."""
    login = login or login_for(settings, name)
    options: dict[str, Any] = {"inbox_prefix": login.inbox_prefix}
    if login.creds_file is not None:
        options["user_credentials"] = str(login.creds_file)
    if login.user is not None and login.password is not None:
        options["security"] = NatsUserPassword(
            login.user, login.password.get_secret_value(), ssl_context=login.tls_context()
        )
    elif login.ca_file is not None:
        options["tls"] = login.tls_context()
    tracer_provider = configure_tracing(name, settings.otel_exporter)
    return NatsBroker(
        list(login.servers),
        name=f"sakspost-{name}",
        max_reconnect_attempts=-1,
        # Let in-flight handlers finish on SIGTERM before the connection drains.
        graceful_timeout=max(15.0, settings.ack_wait_seconds),
        middlewares=(NatsTelemetryMiddleware(tracer_provider=tracer_provider),),
        logger=structlog.get_logger("faststream"),
        # One line per message at info would drown the logs; keep them for debugging.
        log_level=logging.DEBUG,
        **options,
    )
