"""Ingest's own settings, from `SAKSPOST_INGEST_*` environment variables.

Everything every service shares (NATS, Graph, the delta interval, the duplicate window) stays in
`services.common.settings`; these are the knobs of the webhook, the subscriptions and the lease.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import empty_is_unset

# A notification body: Graph documents no maximum batch size. A basic Outlook notification is
# under 1 KB; one with resource data (the performance issue adds them) carries `encryptedContent`
# with only the properties the subscription `$select`s, a few KB. 1,000 such items fit in 16 MiB
# four times over; a larger batch is refused, retried by Graph, and its mail found by delta anyway.
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_BATCH_ITEMS = 1000
# Graph's maximum for Outlook message subscriptions is 10,080 minutes; renewing well before that
# leaves days of slack for an outage of the lease holder.
DEFAULT_SUBSCRIPTION_MINUTES = 4320
# With resource data Graph allows Outlook subscriptions under one day (1,440 minutes); 23 hours
# leaves room for clocks that differ, and renewing 12 hours before expiry half a day of slack.
RESOURCE_DATA_MAX_MINUTES = 1440
DEFAULT_RESOURCE_DATA_MINUTES = 1380


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAKSPOST_INGEST_", extra="ignore", frozen=True)

    public_url: str | None = Field(
        default=None,
        description="Base URL Graph calls for notifications (default: this service's own address)",
    )
    max_body_bytes: int = Field(
        default=MAX_BODY_BYTES, gt=0, description="Largest notification body accepted (413 above)"
    )
    max_batch_items: int = Field(
        default=MAX_BATCH_ITEMS,
        ge=1,
        description="Most notifications accepted in one body (413 above; delta catches up)",
    )
    max_bodies_in_flight_bytes: int = Field(
        default=3 * MAX_BODY_BYTES,
        gt=0,
        description="Notification bodies held at once across the webhooks (503 above: Graph "
        "retries), so that a flood of large bodies cannot take the pod's memory",
    )
    max_json_depth: int = Field(
        default=16, ge=4, description="Deepest JSON nesting accepted; Graph's batches need 4"
    )
    publish_timeout_seconds: float = Field(
        default=2.0, gt=0, description="Storing a batch in JetStream; beyond it the answer is 503"
    )
    subscription_minutes: int = Field(default=DEFAULT_SUBSCRIPTION_MINUTES, ge=45, le=10_080)
    renew_before_minutes: int = Field(
        default=24 * 60, ge=1, description="Renew a subscription this long before it expires"
    )
    encryption_certificate_path: Path | None = Field(
        default=None,
        description="PEM file with the certificate (and its RSA private key) Graph encrypts "
        "resource data for; set: notifications carry the message's properties (one Graph read "
        "per mail), unset: each message is read",
    )
    encryption_certificate_previous_path: Path | None = Field(
        default=None,
        description="The certificate before a rotation, kept to open notifications still "
        "encrypted for it",
    )
    token_tenant_id: str | None = Field(
        default=None,
        description="The tenant whose validation tokens are accepted (default: "
        "SAKSPOST_GRAPH_TENANT_ID; set only against the emulator without tokens)",
    )
    token_app_id: str | None = Field(
        default=None,
        description="The app id validation tokens are issued to (default: "
        "SAKSPOST_GRAPH_CLIENT_ID; set only against the emulator without tokens)",
    )
    resource_data_minutes: int = Field(
        default=DEFAULT_RESOURCE_DATA_MINUTES,
        ge=45,
        le=RESOURCE_DATA_MAX_MINUTES,
        description="Lifetime of a subscription with resource data (Graph: under one day)",
    )
    resource_data_renew_before_minutes: int = Field(
        default=720, ge=1, description="Renew a subscription with resource data this long before"
    )
    lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="The upkeep lease: a replica that is silent this long loses it",
    )
    upkeep_interval_seconds: float = Field(
        default=10.0, gt=0, description="How often the lease holder checks subscriptions and delta"
    )
    subscription_alert_after_seconds: float = Field(
        default=600.0,
        ge=0,
        description="A mailbox whose subscription has failed this long raises one "
        "subscription_failed alert (shorter failures are a deploy's validation wait)",
    )
    mailbox_concurrency: int = Field(
        default=4, ge=1, le=4, description="Concurrent Graph calls per mailbox (Exchange allows 4)"
    )
    delta_page_size: int = Field(default=100, ge=1, le=1000)
    delta_folders: tuple[str, ...] = Field(
        default=("inbox", "deleteditems", "sentitems"),
        description="Well-known folders caught up by delta (Deleted Items: deletions, R13; "
        "Sent Items: outgoing checks, R14, R2, R3)",
    )
    personal_forward_confidence: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="A personal mail goes to Sakspost on its own only at this confidence or above, "
        "with evidence of official content; below it its owner is asked (R9c)",
    )
    personal_category: str | None = Field(
        default=None,
        min_length=1,
        description="The Outlook category with which an owner sends a personal mail to Sakspost; "
        "default: 'Til Sakspost' (nynorsk, bokmål) or 'To Sakspost' (English), each honoured",
    )
    # A message's MIME is downloaded into a spool file (memory up to a small size, then disk):
    # Exchange Online takes messages of up to 150 MB. Kubernetes mounts an emptyDir for it.
    mime_download_cap_bytes: int = Field(
        default=160 * 1024 * 1024,
        ge=1024,
        description="Most of one message's MIME downloaded and kept; beyond it the download "
        "stops and the mail is a case marked too large",
    )
    mime_spool_memory_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="A spool file's size in memory before it goes to disk",
    )
    mime_spool_dir: Path | None = Field(
        default=None, description="Where spool files go to disk (default: the system's temp dir)"
    )

    @field_validator(
        "encryption_certificate_path",
        "encryption_certificate_previous_path",
        "token_tenant_id",
        "token_app_id",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Also how one run turns resource data off (an empty certificate path).
        return empty_is_unset(value)

    @model_validator(mode="after")
    def _renewed_before_expiry(self) -> IngestSettings:
        if self.resource_data_renew_before_minutes >= self.resource_data_minutes:
            raise ValueError(
                "SAKSPOST_INGEST_RESOURCE_DATA_RENEW_BEFORE_MINUTES must be less than "
                "SAKSPOST_INGEST_RESOURCE_DATA_MINUTES, or the subscription is renewed at every "
                "check"
            )
        return self

    @model_validator(mode="after")
    def _one_body_fits_in_flight(self) -> IngestSettings:
        if self.max_bodies_in_flight_bytes < self.max_body_bytes:
            raise ValueError(
                "SAKSPOST_INGEST_MAX_BODIES_IN_FLIGHT_BYTES must be at least "
                "SAKSPOST_INGEST_MAX_BODY_BYTES, or no body of the largest size is ever read"
            )
        return self
