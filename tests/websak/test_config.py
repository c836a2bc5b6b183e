"""The WebSak placement file and connection settings: clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.orgconfig import Organisation
from services.websak.config import (
    WebSakConfigError,
    WebSakConnection,
    load_placement,
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
