"""Settings from `SAKSPOST_*` environment variables, identical in every service.

Secrets come only from the environment (or files mounted into it by Kubernetes); they are
`SecretStr`, so they never print in logs or reprs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.configfile import load_env_model

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ORG_CONFIG = REPO_ROOT / "config" / "ha-kommune.yaml"

# Each service answers /healthz and /readyz on its own port; ingest's also takes Graph's webhooks.
DEFAULT_HTTP_PORTS: dict[str, int] = {
    "ingest": 8080,
    "classifier": 8081,
    "router": 8082,
    "websak": 8083,
    "notifier": 8084,
}


class SettingsError(ValueError):
    """The environment does not configure a usable service; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAKSPOST_", extra="ignore", frozen=True)

    nats_url: str = Field(
        default="nats://127.0.0.1:4222", description="NATS server URL(s), comma-separated"
    )
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_creds_file: Path | None = Field(default=None, description="NATS JWT credentials file")
    nats_ca_file: Path | None = Field(
        default=None,
        description="CA certificate that signed the NATS servers' TLS certificates (tls:// URLs)",
    )
    nats_credentials_dir: Path | None = Field(
        default=None,
        description="Where each identity's <identity>.env is read from when SAKSPOST_NATS_USER "
        "is unset (default: <data dir>/credentials, written by `sakspost up`)",
    )
    org_config: Path = Field(default=DEFAULT_ORG_CONFIG, description="The organisation YAML file")
    data_dir: Path = Field(default=Path(".sakspost"), description="Local state of dev tools")

    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, description="Overrides the service's default port")

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    otel_exporter: Literal["none", "console", "otlp"] = "none"

    # JetStream layout. The duplicate window must outlast the delta interval, so that a mail seen
    # by a notification and again by the next delta query is still recognised as a duplicate.
    stream_replicas: int = Field(default=1, ge=1, le=5)
    duplicate_window_seconds: float = Field(default=2 * 3600, gt=0)
    delta_interval_seconds: float = Field(default=15 * 60, gt=0)

    # The retry discipline (docs/design.md): transient failures are retried for as long as it
    # takes, with a growing delay; a deterministic failure is retried a bounded number of times,
    # then alerted.
    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    max_deterministic_failures: int = Field(default=5, ge=1)
    ack_wait_seconds: float = Field(default=60.0, gt=0)

    graph_base_url: str | None = Field(
        default=None, description="Graph base URL; set to the emulator locally, unset in production"
    )
    graph_tenant_id: str | None = None
    graph_client_id: str | None = None
    graph_client_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _window_outlasts_delta(self) -> Settings:
        if self.duplicate_window_seconds <= self.delta_interval_seconds:
            raise ValueError(
                "SAKSPOST_DUPLICATE_WINDOW_SECONDS must be larger than "
                "SAKSPOST_DELTA_INTERVAL_SECONDS, or a mail seen again by delta is published twice"
            )
        return self

    def port_for(self, service: str) -> int:
        if self.http_port is not None:
            return self.http_port
        if service not in DEFAULT_HTTP_PORTS:
            raise SettingsError(f"{service} has no default port (fix: set SAKSPOST_HTTP_PORT)")
        return DEFAULT_HTTP_PORTS[service]

    @property
    def nats_servers(self) -> list[str]:
        return split_urls(self.nats_url)


def split_urls(urls: str) -> list[str]:
    """`nats://a:4222,nats://b:4222` as a list (one URL per cluster node)."""
    return [url.strip() for url in urls.split(",") if url.strip()]


def load_settings() -> Settings:
    return load_env_model(Settings, "SAKSPOST_", SettingsError)


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
