"""The router's own settings, from `SAKSPOST_ROUTER_*` (the common ones are in services/common)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RouterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAKSPOST_ROUTER_", extra="ignore", frozen=True)

    watch_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often the watch looks for overdue and unassigned cases"
    )
    away_cache_seconds: float = Field(
        default=300.0, ge=0, description="How long an automatic-replies answer is trusted"
    )
    case_wait_seconds: float = Field(
        default=900.0,
        ge=0,
        description="How long a fact about a case not yet opened is retried before it is an error",
    )
    max_write_attempts: int = Field(
        default=50, ge=1, description="Compare-and-set attempts before a write counts as transient"
    )
    concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description=(
            "Facts one router handles at once. Each waits mostly on NATS and Graph, and every "
            "write is a compare-and-set, so facts of one case are safe together as across replicas"
        ),
    )
