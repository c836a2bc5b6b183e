"""What the notifier sends to whom, through which channels (`config/notifier.yaml`), and the
channel secrets (`SAKSPOST_NOTIFIER_*` environment variables only).

The file holds Hå's defaults and per-department overrides; a department lists only what differs.
A bad file never starts the service half-configured: the error names the file, the field and the
fix, in the style of the organisation file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic import model_validator as model_check
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.vocab import AlertKind, Channel
from services.common.configfile import read_yaml, validate_mapping
from services.common.language import DEFAULT_LANGUAGE, Language
from services.common.orgconfig import Organisation

DEFAULT_NOTIFIER_CONFIG = Path(__file__).resolve().parents[2] / "config" / "notifier.yaml"
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class NotifierConfigError(ValueError):
    """The notifier configuration cannot be used; the message says where and how to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Route(_Strict):
    """The channel a notice goes through first, and the channels tried when it fails."""

    channel: Channel = Field(description="The first channel: email, teams or webhook")
    fallback: list[Channel] = Field(
        default_factory=list, description="Tried in order when the first channel fails"
    )

    @model_check(mode="after")
    def _distinct(self) -> Self:
        chain = [self.channel, *self.fallback]
        if len(set(chain)) != len(chain):
            raise ValueError(
                f"the channels {[c.value for c in chain]} repeat one (fix: name each channel once)"
            )
        return self

    @property
    def chain(self) -> tuple[Channel, ...]:
        return (self.channel, *self.fallback)


class DepartmentNotices(_Strict):
    """What one department's people are told (R10, R11)."""

    assigned: Route = Field(description="The notice to the assignee of each assigned mail")
    alerts: Route = Field(description="Supervisor alerts from sakspost.alert.>")
    digest: Route = Field(description="The daily digest to the supervisors")
    alert_kinds: list[AlertKind] = Field(
        default_factory=lambda: list(AlertKind),
        description="Alert kinds the supervisors are told about",
    )


class DepartmentOverride(_Strict):
    """A department's differences from the defaults; a field left out keeps the default."""

    assigned: Route | None = None
    alerts: Route | None = None
    digest: Route | None = None
    alert_kinds: list[AlertKind] | None = None


OPERATIONS_KINDS = (
    AlertKind.DEAD_LETTER,
    AlertKind.ARCHIVE_FAILED,
    AlertKind.SUBSCRIPTION_FAILED,
    AlertKind.SERVICE_RESTARTING,
)


class Operations(Route):
    """The people running Sakspost: told of these alert kinds besides the supervisors."""

    address: str | None = Field(
        default=None,
        description="The operations e-mail address; without it the organisation file's "
        "operations_address (one of them is needed for the email channel)",
    )
    language: Language = Field(default=DEFAULT_LANGUAGE, description="nn, nb or en")
    alert_kinds: list[AlertKind] = Field(
        default_factory=lambda: list(OPERATIONS_KINDS),
        description="Alert kinds operations are told about",
    )
    restart_limit: int = Field(
        default=3, ge=1, description="Starts of one instance tolerated within the restart window"
    )
    restart_window_minutes: float = Field(
        default=15.0, gt=0, description="The window in which starts are counted"
    )
    restart_check_seconds: float = Field(
        default=30.0, gt=0, description="How often the recorded starts are counted"
    )

    def address_in(self, org: Organisation) -> str | None:
        return self.address or org.operations_address


class NotifierConfig(_Strict):
    defaults: DepartmentNotices
    departments: dict[str, DepartmentOverride] = Field(default_factory=dict)
    operations: Operations | None = Field(
        default=None, description="Operations' channel; without it only supervisors are told"
    )
    storm_window_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Alerts of one kind in one department within this window become one message",
    )
    flush_tick_seconds: float = Field(
        default=1.0, gt=0, description="How often waiting alert groups are checked"
    )
    max_listed_cases: int = Field(
        default=200, ge=1, description="Case ids listed in one grouped alert; the rest counted"
    )
    digest_at: str = Field(default="07:30", description="Local time of the daily digest, 'HH:MM'")
    send_attempts: int = Field(
        default=4, ge=1, description="Tries per channel before the next channel is tried"
    )
    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=30.0, gt=0)
    claim_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a notice claimed by a process that went quiet waits before another "
        "takes it over (long enough for Exchange to file the copy in Sent Items)",
    )
    away_cache_seconds: float = Field(
        default=300.0, ge=0, description="How long a supervisor's automatic-replies state is kept"
    )
    outlook_link: str = Field(
        default="https://outlook.office.com/mail/deeplink/read/{message_id}?ItemID={message_id}"
        "&exvsurl=1",
        description="Opens a message in Outlook on the web; {message_id} is the URL-encoded "
        "immutable id, {mailbox} the shared mailbox",
    )

    @field_validator("digest_at", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> str:
        # YAML 1.1 reads an unquoted 07:30 as the number 450 (base 60): say so instead of guessing.
        if not isinstance(value, str) or not _CLOCK.match(value.strip()):
            raise ValueError(
                f"{value!r} is not a time of day (fix: write it in quotes as 'HH:MM', e.g. '07:30')"
            )
        return value.strip()

    @field_validator("outlook_link")
    @classmethod
    def _link(cls, value: str) -> str:
        if "{message_id}" not in value or not value.startswith("https://"):
            raise ValueError(
                "the link must be an https:// URL holding {message_id} (fix: see the default)"
            )
        return value

    def for_department(self, key: str) -> DepartmentNotices:
        override = self.departments.get(key)
        if override is None:
            return self.defaults
        given = {
            name: getattr(override, name)
            for name in DepartmentOverride.model_fields
            if getattr(override, name) is not None
        }
        return self.defaults.model_copy(update=given)

    def check_against(self, org: Organisation, source: Path) -> None:
        unknown = sorted(set(self.departments) - set(org.departments))
        if unknown:
            raise NotifierConfigError(
                f"{source}: departments {unknown} are not in the organisation file "
                f"(fix: use one of {sorted(org.departments)})"
            )
        operations = self.operations
        address = operations.address_in(org) if operations else None
        if operations and Channel.EMAIL in operations.chain and not (address and "@" in address):
            raise NotifierConfigError(
                f"{source}: operations: the email channel needs an address (fix: give "
                "operations.address here or operations_address in the organisation file, "
                "e.g. drift@ha.kommune.no, or leave email out of the channels)"
            )


class NotifierSecrets(BaseSettings):
    """Channel endpoints and secrets: only ever from the environment (or mounted files)."""

    model_config = SettingsConfigDict(env_prefix="SAKSPOST_NOTIFIER_", extra="ignore", frozen=True)

    config: Path = Field(default=DEFAULT_NOTIFIER_CONFIG, description="The notifier YAML file")
    teams_url: SecretStr | None = Field(
        default=None, description="Teams Workflows (or incoming-webhook) URL for every department"
    )
    teams_urls: dict[str, SecretStr] = Field(
        default_factory=dict, description='Per-department Teams URLs, JSON: {"bygg": "https…"}'
    )
    webhook_url: str | None = Field(default=None, description="The generic webhook's URL")
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the X-Sakspost-Signature header"
    )

    operations_teams_url: SecretStr | None = Field(
        default=None, description="Teams URL of the operations channel"
    )
    operations_webhook_url: str | None = Field(
        default=None, description="The operations webhook's URL (signed with webhook_secret)"
    )

    def teams_url_for(self, department: str, *, operations: bool = False) -> str | None:
        if operations:
            secret = self.operations_teams_url
        else:
            secret = self.teams_urls.get(department) or self.teams_url
        return secret.get_secret_value() if secret else None


def parse_notifier_config(data: Any, source: Path, org: Organisation) -> NotifierConfig:
    config = validate_mapping(
        data, source, NotifierConfig, "notifier configuration", NotifierConfigError
    )
    config.check_against(org, source)
    return config


def load_notifier_config(path: str | Path, org: Organisation) -> NotifierConfig:
    source = Path(path)
    data = read_yaml(
        source, "notifier configuration", "SAKSPOST_NOTIFIER_CONFIG", NotifierConfigError
    )
    return parse_notifier_config(data, source, org)
