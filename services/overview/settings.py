"""The overview's own settings, from `SAKSPOST_OVERVIEW_*` (the common ones are in services/common).

`public_url` is where people reach the overview (the redirect URI Entra ID sends them back to is
`<public_url>/auth/callback`); unset, the local address on the service's port.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class OverviewSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAKSPOST_OVERVIEW_", extra="ignore", frozen=True)

    public_url: str | None = Field(
        default=None,
        description="Where people reach the overview (https in production); unset: "
        "http://127.0.0.1:<port>",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="The client secret of Sakspost's app registration, for the sign-in's "
        "token requests",
    )
    recent_alert_days: int = Field(
        default=7, ge=1, description="How many days of alerts the pages show at start"
    )

    def base_url(self, port: int) -> str:
        return (self.public_url or f"http://127.0.0.1:{port}").rstrip("/")
