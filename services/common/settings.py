"""Settings from `SAKSPOST_*` environment variables, identical in every service.

Secrets come only from the environment (or files mounted into it by Kubernetes); they are
`SecretStr`, so they never print in logs or reprs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.configfile import load_env_model
from services.common.mail import MailLimits
from services.common.workers import MiB, WorkerLimits

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ORG_CONFIG = REPO_ROOT / "config" / "ha-kommune.yaml"

# Each service answers /healthz and /readyz on its own port; ingest's also takes Graph's webhooks,
# the overview's serves the supervisors' pages.
DEFAULT_HTTP_PORTS: dict[str, int] = {
    "ingest": 8080,
    "classifier": 8081,
    "router": 8082,
    "websak": 8083,
    "notifier": 8084,
    "overview": 8085,
}


class SettingsError(ValueError):
    """The environment does not configure a usable service; the message names the variable."""


@dataclass(frozen=True)
class ClientSecret:
    value: SecretStr


@dataclass(frozen=True)
class ClientCertificate:
    """A PEM or PKCS#12 file holding the certificate and its RSA private key."""

    path: Path
    password: SecretStr | None = None


@dataclass(frozen=True)
class GraphApp:
    """The Entra ID app registration Sakspost signs in to Graph as, with exactly one credential.

    `authority` is the Entra ID host tokens come from (None: login.microsoftonline.com);
    `authority_ca_file` a PEM bundle its TLS certificate is checked against instead of the
    system's (the emulator's login endpoint, which has no public certificate).
    """

    tenant_id: str
    client_id: str
    credential: ClientSecret | ClientCertificate
    authority: str | None = None
    authority_ca_file: Path | None = None


_GRAPH_CREDENTIALS = "SAKSPOST_GRAPH_CLIENT_SECRET or SAKSPOST_GRAPH_CERTIFICATE_PATH"


def empty_is_unset(value: object) -> object:
    """An empty variable is an unset one: a Kubernetes Secret key that is missing often arrives
    as an empty variable, and an empty path would otherwise be read as "."."""
    return None if value == "" else value


@dataclass(frozen=True)
class AuthSettings:
    """Sakspost's own app registration: the tenant that signs people in, and the audience."""

    tenant_id: str
    client_id: str
    authority: str | None = None
    authority_ca_file: Path | None = None


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
    # then alerted. An attempt that never ends (the process killed for memory, the ack wait run
    # out) is bounded too: that many such attempts, and the message is dead-lettered as crashed.
    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    max_deterministic_failures: int = Field(default=5, ge=1)
    max_crashed_attempts: int = Field(default=3, ge=1)
    ack_wait_seconds: float = Field(default=60.0, gt=0)

    signing_key: SecretStr | None = Field(
        default=None,
        description="Key of the seal on Sakspost's own forwards and notices (services/common/"
        "seal.py); unset: <credentials dir>/signing.env, written by `sakspost up`",
    )
    signing_key_previous: SecretStr | None = Field(
        default=None, description="The key before a rotation: its seals still verify"
    )
    # How much of one mail a service reads into memory (`mimelimits.py`). Exchange Online takes
    # messages of up to 150 MB; a mail over the parse cap is read only as far as its header block.
    mime_parse_cap_bytes: int = Field(
        default=25 * 1024 * 1024,
        gt=0,
        description="Largest mail parsed whole; above it only the header block is read",
    )
    mime_header_cap_bytes: int = Field(
        default=256 * 1024,
        ge=4096,
        description="How much of a mail over the parse cap is read for its header block",
    )
    # Bounded work per mail (issue #16): a mail's parse, classification and rendering run in a
    # service's worker processes, each task under a CPU-time limit and each worker under a memory
    # limit; what a mail may hold is capped before that. Over any of them, the mail is a
    # quarantined case. The defaults admit anything Exchange Online delivers (150 MB messages).
    workers: int = Field(default=1, ge=1, le=16, description="Worker processes per service")
    worker_cpu_seconds: float = Field(
        default=60.0, ge=1, description="CPU time one task (one mail) may use in a worker"
    )
    worker_memory_mib: int = Field(
        default=2048, ge=128, description="Address space of one worker process (RLIMIT_AS)"
    )
    mail_max_headers: int = Field(default=1000, ge=10)
    mail_max_header_kib: int = Field(default=256, ge=1, description="Longest header value read")
    mail_max_parts: int = Field(default=1000, ge=1, description="MIME parts read per mail")
    mail_max_depth: int = Field(default=30, ge=1, description="Nesting of MIME parts read")
    mail_max_multiparts: int = Field(
        default=100, ge=1, description="Multiparts a mail may declare; more: headers only read"
    )
    mail_max_text_chars: int = Field(
        default=4_000_000, ge=1000, description="Body text read per mail (what is classified)"
    )
    mail_max_attachment_mib: int = Field(
        default=150, ge=1, description="Decoded attachments read per mail, in total"
    )

    graph_base_url: str | None = Field(
        default=None, description="Graph base URL; set to the emulator locally, unset in production"
    )
    graph_tenant_id: str | None = None
    graph_client_id: str | None = None
    graph_client_secret: SecretStr | None = None
    graph_certificate_path: Path | None = Field(
        default=None, description="PEM or PKCS#12 file with the app's certificate and private key"
    )
    graph_certificate_password: SecretStr | None = None
    graph_authority: str | None = Field(
        default=None, description="Entra ID host tokens come from; unset: login.microsoftonline.com"
    )
    graph_authority_ca_file: Path | None = Field(
        default=None, description="PEM CA bundle for the authority's TLS instead of the system's"
    )
    # Sakspost's own app registration people and operator apps sign in to (its host is the
    # Graph authority above).
    auth_tenant_id: str | None = Field(
        default=None, description="Entra ID tenant whose people and operators may run commands"
    )
    auth_client_id: str | None = Field(
        default=None,
        description="Client id of Sakspost's own app registration: the audience of every token a "
        "command carries",
    )
    operator_client_id: str | None = Field(
        default=None, description="The operator's own app registration (the command line's)"
    )
    operator_client_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _window_outlasts_delta(self) -> Settings:
        if self.duplicate_window_seconds <= self.delta_interval_seconds:
            raise ValueError(
                "SAKSPOST_DUPLICATE_WINDOW_SECONDS must be larger than "
                "SAKSPOST_DELTA_INTERVAL_SECONDS, or a mail seen again by delta is published twice"
            )
        return self

    @field_validator(
        "graph_tenant_id",
        "graph_client_id",
        "graph_client_secret",
        "graph_certificate_path",
        "graph_certificate_password",
        "graph_authority",
        "graph_authority_ca_file",
        "auth_tenant_id",
        "auth_client_id",
        "operator_client_id",
        "operator_client_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return empty_is_unset(value)

    @model_validator(mode="after")
    def _one_graph_credential(self) -> Settings:
        self.graph_app()
        return self

    def graph_app(self) -> GraphApp | None:
        """The app registration the `SAKSPOST_GRAPH_*` settings describe; None when they name
        none (the emulator without tokens, or a service that does not call Graph)."""
        tenant, client = self.graph_tenant_id, self.graph_client_id
        secret = self.graph_client_secret
        certificate, password = self.graph_certificate_path, self.graph_certificate_password
        if not any((tenant, client, secret, certificate, password)):
            return None
        if secret is not None and certificate is not None:
            raise SettingsError(f"set one of {_GRAPH_CREDENTIALS}, not both")
        if password is not None and certificate is None:
            raise SettingsError(
                "SAKSPOST_GRAPH_CERTIFICATE_PASSWORD is set without a certificate "
                "(fix: set SAKSPOST_GRAPH_CERTIFICATE_PATH, or unset the password)"
            )
        credential: ClientSecret | ClientCertificate | None = None
        if secret is not None:
            credential = ClientSecret(secret)
        elif certificate is not None:
            credential = ClientCertificate(certificate, password)
        if tenant is None or client is None or credential is None:
            missing = [
                name
                for name, value in (
                    ("SAKSPOST_GRAPH_TENANT_ID", tenant),
                    ("SAKSPOST_GRAPH_CLIENT_ID", client),
                    (_GRAPH_CREDENTIALS, credential),
                )
                if value is None
            ]
            raise SettingsError(
                f"the Graph app registration is incomplete, unset: {'; '.join(missing)} (fix: "
                f"set SAKSPOST_GRAPH_TENANT_ID, SAKSPOST_GRAPH_CLIENT_ID and one of "
                f"{_GRAPH_CREDENTIALS})"
            )
        return GraphApp(
            tenant, client, credential, self.graph_authority, self.graph_authority_ca_file
        )

    def auth(self) -> AuthSettings:
        """Sakspost's own app registration, which every command's token must be issued to;
        raises `SettingsError` naming what is unset (a service that answers commands refuses to
        start without it rather than answer anyone)."""
        tenant, client = self.auth_tenant_id, self.auth_client_id
        if tenant is None or client is None:
            missing = [
                name
                for name, value in (
                    ("SAKSPOST_AUTH_TENANT_ID", tenant),
                    ("SAKSPOST_AUTH_CLIENT_ID", client),
                )
                if value is None
            ]
            raise SettingsError(
                f"commands cannot be verified, unset: {', '.join(missing)} (fix: set them to "
                "the tenant and client id of Sakspost's Entra ID app registration)"
            )
        return AuthSettings(tenant, client, self.graph_authority, self.graph_authority_ca_file)

    def worker_limits(self) -> WorkerLimits:
        return WorkerLimits(
            workers=self.workers,
            cpu_seconds=self.worker_cpu_seconds,
            memory_bytes=self.worker_memory_mib * MiB,
        )

    def mail_limits(self) -> MailLimits:
        return MailLimits(
            max_bytes=self.mime_parse_cap_bytes,
            max_headers=self.mail_max_headers,
            max_header_chars=self.mail_max_header_kib * 1024,
            max_parts=self.mail_max_parts,
            max_depth=self.mail_max_depth,
            max_multiparts=self.mail_max_multiparts,
            max_text_chars=self.mail_max_text_chars,
            max_attachment_bytes=self.mail_max_attachment_mib * MiB,
        )

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
