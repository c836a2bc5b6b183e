"""The WebSak placement file and connection settings: clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.credentials import ensure_key
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.websak.config import (
    MARKER_KEY_VARIABLE,
    ArchivingOptions,
    WebSakConfigError,
    WebSakConnection,
    available_cpus,
    cpus_allowed,
    load_marker_key,
    load_placement,
    marker_key_file,
    parse_placement,
)

SOURCE = Path("websak.yaml")


def test_the_default_file_covers_every_department(org: Organisation) -> None:  # R5, R3
    placement = load_placement()
    placement.check_covers(org)
    ordinary = placement.placement("bygg", sensitive=False)
    screened = placement.placement("bygg", sensitive=True)
    assert ordinary.case_ref != screened.case_ref
    assert ordinary.template_ref == screened.template_ref == str(placement.journalpost_template)


def test_errors_name_the_field_and_the_fix() -> None:
    with pytest.raises(WebSakConfigError, match=r"departments\.bygg.*same case"):
        parse_placement(
            {
                "journalpost_template": 9,
                "departments": {"bygg": {"reception_case": 1, "screened_case": 1}},
            },
            SOURCE,
        )
    with pytest.raises(WebSakConfigError, match="reception case of both"):
        parse_placement(
            {
                "journalpost_template": 9,
                "departments": {
                    "a": {"reception_case": 1, "screened_case": 2},
                    "b": {"reception_case": 2, "screened_case": 3},
                },
            },
            SOURCE,
        )
    with pytest.raises(WebSakConfigError, match="journalpost_template: is required"):
        parse_placement({"departments": {"a": {"reception_case": 1, "screened_case": 2}}}, SOURCE)
    with pytest.raises(WebSakConfigError, match="no reception case"):
        load_placement().placement("nowhere", sensitive=False)
    with pytest.raises(WebSakConfigError, match="cannot read"):
        load_placement(SOURCE.with_name("missing.yaml"))


def test_the_connection_needs_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN", "TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"SAKSPOST_WEBSAK_{name}", raising=False)
    with pytest.raises(ValueError, match="no credentials"):
        WebSakConnection()
    monkeypatch.setenv("SAKSPOST_WEBSAK_TOKEN_URL", "http://127.0.0.1:1/connect/token")
    with pytest.raises(ValueError, match="CLIENT_ID"):
        WebSakConnection()
    monkeypatch.setenv("SAKSPOST_WEBSAK_CLIENT_ID", "sakspost")
    monkeypatch.setenv("SAKSPOST_WEBSAK_CLIENT_SECRET", "s")
    assert WebSakConnection().token_url is not None


def test_the_marker_key_comes_from_the_environment_or_the_local_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(MARKER_KEY_VARIABLE, raising=False)
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(WebSakConfigError, match=f"{MARKER_KEY_VARIABLE}.*sakspost up"):
        load_marker_key(settings)
    # `sakspost up` makes one in the credentials folder, once: a restart keeps it.
    ensure_key(marker_key_file(settings), MARKER_KEY_VARIABLE)
    made = load_marker_key(settings).key
    ensure_key(marker_key_file(settings), MARKER_KEY_VARIABLE)
    assert load_marker_key(settings).key == made
    assert len(made) >= 32
    assert marker_key_file(settings).stat().st_mode & 0o077 == 0
    # The environment (a Kubernetes Secret) wins, and a short key is refused.
    monkeypatch.setenv(MARKER_KEY_VARIABLE, "k" * 40)
    assert load_marker_key(settings).key == b"k" * 40
    monkeypatch.setenv(MARKER_KEY_VARIABLE, "short")
    with pytest.raises(WebSakConfigError, match=MARKER_KEY_VARIABLE):
        load_marker_key(settings)


@pytest.mark.parametrize(
    ("affinity", "cpu_max", "expected"),
    [
        (8, None, 8),  # no cgroup v2 file: the affinity mask
        (8, "max 100000\n", 8),  # no CPU limit
        (8, "200000 100000\n", 2),  # a Kubernetes limit of 2 CPUs
        (8, "150000 100000\n", 2),  # 1.5 CPUs keep two workers busy part of the time
        (8, "50000 100000\n", 1),  # never fewer than one worker
        (2, "400000 100000\n", 2),  # never more than the CPUs it may run on
    ],
)
def test_rendering_workers_default_to_the_cpus_the_process_may_use(
    affinity: int, cpu_max: str | None, expected: int
) -> None:
    assert cpus_allowed(affinity, cpu_max) == expected


def test_the_rendering_workers_setting_overrides_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SAKSPOST_WEBSAK_WORKERS", raising=False)
    assert ArchivingOptions().workers == available_cpus() >= 1
    monkeypatch.setenv("SAKSPOST_WEBSAK_WORKERS", "3")
    assert ArchivingOptions().workers == 3
    monkeypatch.setenv("SAKSPOST_WEBSAK_WORKERS", "0")
    with pytest.raises(ValueError, match="workers"):
        ArchivingOptions()
