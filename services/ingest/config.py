"""Ingest's own settings, from `SAKSPOST_INGEST_*` environment variables.

Everything every service shares (NATS, Graph, the delta interval, the duplicate window) stays in
`services.common.settings`; these are the knobs of the webhook, the subscriptions and the lease.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Graph's maximum for Outlook message subscriptions is 10,080 minutes; renewing well before that
# leaves days of slack for an outage of the lease holder.
DEFAULT_SUBSCRIPTION_MINUTES = 4320


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAKSPOST_INGEST_", extra="ignore", frozen=True)

    public_url: str | None = Field(
        default=None,
        description="Base URL Graph calls for notifications (default: this service's own address)",
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, gt=0, description="Largest notification body accepted (413 above)"
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
    lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="The upkeep lease: a replica that is silent this long loses it",
    )
    upkeep_interval_seconds: float = Field(
        default=10.0, gt=0, description="How often the lease holder checks subscriptions and delta"
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
