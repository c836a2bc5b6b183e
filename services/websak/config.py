"""Where archival mail goes in WebSak, and how to reach WebSak.

The placement file (`config/websak.yaml`) maps each department to its reception cases: an open one,
and a screened one for sensitive mail (WebSak screens per case, R3). It names the journalpost
template (`malJpId`) that `journalpost/ny` copies document type and status from: the contract's
`journalpost/ny` takes no direction, so an incoming (I) and an outgoing (U) journalpost differ only
by their template (`journalpost_template`, `outgoing_template`). It is validated by pydantic; a bad
file never starts the service half-configured.

Connection details (base URL, token, OAuth client) come from `SAKSPOST_WEBSAK_*` environment
variables, like every other setting that differs between installations; secrets never live in files
of the repository. So does the key of the filing marker (`SAKSPOST_WEBSAK_MARKER_KEY`, see
`markers.py`); locally `sakspost up` makes one in the data directory's credentials folder, which is
read when the variable is unset.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.configfile import load_env_model, read_yaml, validate_mapping
from services.common.credentials import credentials_dir, read_env_file
from services.common.language import DEFAULT_LANGUAGE, Language
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.websak.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MAX_IMAGES,
    DEFAULT_MAX_MAIL_IMAGE_PIXELS,
)

DEFAULT_PLACEMENT_FILE = Path(__file__).resolve().parents[2] / "config" / "websak.yaml"
MARKER_KEY_VARIABLE = "SAKSPOST_WEBSAK_MARKER_KEY"
MARKER_KEY_FILE = "websak-marker.env"

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class WebSakConfigError(ValueError):
    """The WebSak configuration cannot be used; the message says where and how to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReceptionCases(_Strict):
    reception_case: int = Field(gt=0, description="WebSak sakId of the open reception case")
    screened_case: int = Field(gt=0, description="WebSak sakId of the screened reception case")
    journalpost_template: int | None = Field(
        default=None, gt=0, description="malJpId for this department (default: the global one)"
    )
    outgoing_template: int | None = Field(
        default=None, gt=0, description="Outgoing malJpId for this department (default: global)"
    )
    title: str | None = Field(default=None, description="Case title the stand-in seeds")

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.reception_case == self.screened_case:
            raise ValueError(
                "reception_case and screened_case are the same case "
                "(fix: sensitive mail needs its own screened case)"
            )
        return self


class WebSakPlacement(_Strict):
    archive_system: str = Field(default="acos-websak", min_length=1)
    journalpost_template: int = Field(gt=0, description="malJpId of an incoming e-mail")
    outgoing_template: int | None = Field(
        default=None,
        gt=0,
        description="malJpId of an outgoing e-mail (type U): a reply sent from Sakspost and "
        "archived by command (R14)",
    )
    screening_code: str = Field(
        default="UO", min_length=1, description="Screening code the stand-in gives screened cases"
    )
    departments: dict[str, ReceptionCases] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_cases(self) -> Self:
        owner: dict[int, str] = {}
        for key, cases in self.departments.items():
            for case_id in (cases.reception_case, cases.screened_case):
                if case_id in owner and owner[case_id] != key:
                    raise ValueError(
                        f"case {case_id} is a reception case of both {owner[case_id]!r} and "
                        f"{key!r} (fix: give each department its own cases)"
                    )
                owner[case_id] = key
        for template in self.template_ids() | self.outgoing_template_ids():
            if template in owner:
                raise ValueError(
                    f"journalpost template {template} is also a case id "
                    "(fix: templates are journalposts, not cases)"
                )
        if self.template_ids() & self.outgoing_template_ids():
            raise ValueError(
                "a template is both incoming and outgoing (fix: outgoing_template must be a "
                "template of document type U)"
            )
        return self

    def template_ids(self) -> set[int]:
        """The incoming (I) templates."""
        return {self.journalpost_template} | {
            cases.journalpost_template
            for cases in self.departments.values()
            if cases.journalpost_template is not None
        }

    def outgoing_template_ids(self) -> set[int]:
        """The outgoing (U) templates."""
        named = {cases.outgoing_template for cases in self.departments.values()}
        return {t for t in (self.outgoing_template, *named) if t is not None}

    def placement(self, department: str, *, sensitive: bool, outgoing: bool = False) -> Placement:
        """The reception case and template for a department's mail (screened when sensitive);
        `outgoing` picks the outgoing template (R14)."""
        cases = self.departments.get(department)
        if cases is None:
            raise WebSakConfigError(
                f"department {department!r} has no reception case in the WebSak configuration "
                f"(fix: add it under departments; known: {sorted(self.departments)})"
            )
        template = cases.journalpost_template or self.journalpost_template
        if outgoing:
            outgoing_template = cases.outgoing_template or self.outgoing_template
            if outgoing_template is None:
                raise WebSakConfigError(
                    f"department {department!r} has no outgoing journalpost template "
                    "(fix: set outgoing_template, a malJpId of document type U)"
                )
            template = outgoing_template
        return Placement(
            case_ref=str(cases.screened_case if sensitive else cases.reception_case),
            template_ref=str(template),
        )

    def check_covers(self, organisation: Organisation) -> None:
        """Every department of the organisation must have reception cases."""
        missing = sorted(set(organisation.departments) - set(self.departments))
        if missing:
            raise WebSakConfigError(
                f"departments {missing} have no reception cases in the WebSak configuration "
                "(fix: add them under departments)"
            )


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one journalpost goes: the archive's case, and the template it is made from.

    Both are opaque strings for the port, so that an archive without templates (Noark 5
    tjenestegrensesnitt) can ignore `template_ref`.
    """

    case_ref: str
    template_ref: str | None = None


class WebSakConnection(BaseSettings):
    """How to reach the WebSak Integration API (from `SAKSPOST_WEBSAK_*`)."""

    model_config = SettingsConfigDict(env_prefix="SAKSPOST_WEBSAK_", extra="ignore")

    base_url: str = "http://127.0.0.1:8090"
    token: SecretStr | None = Field(default=None, description="A static bearer token")
    token_url: str | None = Field(default=None, description="OAuth client-credentials endpoint")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str = "integration"
    timeout_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        if self.token_url is None and self.token is None:
            raise ValueError(
                "no credentials: set SAKSPOST_WEBSAK_TOKEN, or SAKSPOST_WEBSAK_TOKEN_URL with "
                "SAKSPOST_WEBSAK_CLIENT_ID and SAKSPOST_WEBSAK_CLIENT_SECRET"
            )
        if self.token_url is not None and (self.client_id is None or self.client_secret is None):
            raise ValueError(
                "SAKSPOST_WEBSAK_TOKEN_URL needs SAKSPOST_WEBSAK_CLIENT_ID and "
                "SAKSPOST_WEBSAK_CLIENT_SECRET"
            )
        return self


# cgroup v2's CPU quota: "<quota> <period>" in microseconds, or "max <period>" when unlimited. A
# Kubernetes CPU limit is this quota; the affinity mask does not show it.
CPU_MAX_FILE = Path("/sys/fs/cgroup/cpu.max")


def cpus_allowed(affinity: int, cpu_max: str | None) -> int:
    """The CPUs a process may keep busy: its affinity, capped by the cgroup's quota rounded up."""
    quota, _, period = (cpu_max or "max").strip().partition(" ")
    if quota == "max" or not period:
        return max(1, affinity)
    return max(1, min(affinity, math.ceil(int(quota) / int(period))))


def available_cpus() -> int:
    """The CPUs this process may use here (the default number of rendering workers)."""
    try:
        cpu_max: str | None = CPU_MAX_FILE.read_text(encoding="ascii")
    except OSError:
        cpu_max = None
    return cpus_allowed(len(os.sched_getaffinity(0)), cpu_max)


class ArchivingOptions(BaseSettings):
    """How the websak service runs (from `SAKSPOST_WEBSAK_*`); nothing secret."""

    model_config = SettingsConfigDict(env_prefix="SAKSPOST_WEBSAK_", extra="ignore", frozen=True)

    config: Path = Field(
        default=DEFAULT_PLACEMENT_FILE, description="The placement file (reception cases)"
    )
    alert_after_seconds: float = Field(
        default=15 * 60,
        gt=0,
        description="An arkivverdig mail not archived this long after its first attempt raises "
        "one archive_failed alert to the department's supervisors (R10)",
    )
    language: Language = Field(
        default=DEFAULT_LANGUAGE, description="The language of the PDF's own words (nn, nb, en)"
    )
    max_image_pixels: int = Field(
        default=DEFAULT_MAX_IMAGE_PIXELS,
        gt=0,
        description="An image in a mail's body larger than this (width × height, read from its "
        "header) is left out of the PDF, with a line saying so",
    )
    max_mail_image_pixels: int = Field(
        default=DEFAULT_MAX_MAIL_IMAGE_PIXELS,
        gt=0,
        description="The pixels of all images one PDF shows together; later ones are left out",
    )
    max_images: int = Field(
        default=DEFAULT_MAX_IMAGES,
        ge=0,
        description="How many uses of images one PDF shows; later ones are left out",
    )
    # Rendering is CPU-bound and one worker renders one mail at a time: a worker per core keeps
    # every core busy, and one mail at its CPU limit holds one worker, not the service.
    workers: int = Field(
        default_factory=available_cpus,
        ge=1,
        le=64,
        description="Rendering worker processes (each under SAKSPOST_WORKER_CPU_SECONDS and "
        "SAKSPOST_WORKER_MEMORY_MIB); by default one per CPU the process may use",
    )


class MarkerKey(BaseSettings):
    """The key of the filing marker (from `SAKSPOST_WEBSAK_MARKER_KEY`). Keep it: a journalpost
    websak made but could not record before a crash is found again only under the same key."""

    model_config = SettingsConfigDict(env_prefix="SAKSPOST_WEBSAK_", extra="ignore", frozen=True)

    marker_key: SecretStr = Field(min_length=32, description="At least 32 random characters")

    @property
    def key(self) -> bytes:
        return self.marker_key.get_secret_value().encode("utf-8")


def marker_key_file(settings: Settings) -> Path:
    """Where `sakspost up` keeps the local stack's marker key."""
    return credentials_dir(settings) / MARKER_KEY_FILE


def load_marker_key(settings: Settings) -> MarkerKey:
    """The marker key from the environment, else from the local stack's credentials folder."""
    if MARKER_KEY_VARIABLE in os.environ:
        return load_settings_model(MarkerKey)
    path = marker_key_file(settings)
    try:
        value = read_env_file(path).get(MARKER_KEY_VARIABLE)
    except OSError:
        value = None
    if not value:
        raise WebSakConfigError(
            f"no filing marker key: {MARKER_KEY_VARIABLE} is not set and {path} cannot be read "
            "(fix: set it from the Secret sakspost-websak-marker, or start the stack with "
            "`sakspost up`, which makes one)"
        )
    try:
        return MarkerKey(marker_key=SecretStr(value))
    except ValueError:
        raise WebSakConfigError(f"{path}: the marker key is shorter than 32 characters") from None


def load_settings_model(model: type[SettingsT]) -> SettingsT:
    """`model` from the environment, with an error that names each bad variable."""
    return load_env_model(model, "SAKSPOST_WEBSAK_", WebSakConfigError)


def parse_placement(data: Any, source: Path) -> WebSakPlacement:
    return validate_mapping(
        data, source, WebSakPlacement, "WebSak configuration", WebSakConfigError
    )


def load_placement(path: str | Path = DEFAULT_PLACEMENT_FILE) -> WebSakPlacement:
    source = Path(path)
    data = read_yaml(source, "WebSak configuration", "SAKSPOST_WEBSAK_CONFIG", WebSakConfigError)
    return parse_placement(data, source)
