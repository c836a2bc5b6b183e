"""The one way a Sakspost process connects to NATS: a FastStream broker with tracing."""

from __future__ import annotations

import logging
from typing import Any

import structlog
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.security import SASLPlaintext

from services.common.settings import Settings
from services.common.telemetry import configure_tracing


def make_broker(settings: Settings, name: str) -> NatsBroker:
    """A broker that reconnects forever, stops gracefully and carries W3C trace context."""
    options: dict[str, Any] = {}
    if settings.nats_creds_file is not None:
        options["user_credentials"] = str(settings.nats_creds_file)
    if settings.nats_user and settings.nats_password is not None:
        options["security"] = SASLPlaintext(
            username=settings.nats_user, password=settings.nats_password.get_secret_value()
        )
    tracer_provider = configure_tracing(name, settings.otel_exporter)
    return NatsBroker(
        settings.nats_servers,
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
