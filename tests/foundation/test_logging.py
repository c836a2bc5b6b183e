"""The redaction processor: no mail bodies, citizens' addresses or identity numbers in logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from services.common.logging import Redactor, configure_logging
from services.common.settings import Settings, SettingsError, load_settings


def test_redactor_masks_personal_data_in_every_value() -> None:
    redact = Redactor(allowed_domains=["ha.kommune.no"])
    event = redact(
        None,
        "info",
        {
            "event": "mail from ola@citizen.example about 01017012345 and 010170 12345",
            "body": "Hei, eg er sjuk",
            "recipients": ["post@ha.kommune.no", "kari@firma.example"],
            "nested": {"html": "<p>x</p>", "note": "konto 1234.56.78903"},
            "size": 42,
        },
    )
    assert event["event"] == "mail from [address] about [id-number] and [id-number]"
    assert event["body"] == "[redacted]"
    assert event["recipients"] == ["post@ha.kommune.no", "[address]"]
    assert event["nested"] == {"html": "[redacted]", "note": "konto [id-number]"}
    assert event["size"] == 42


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.mark.usefixtures("restored_logging")
def test_configured_logging_redacts_structlog_output(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "info", "json", allowed_domains=["ha.kommune.no"])
    structlog.get_logger("t").info("received", sender="ola@citizen.example", text="secret body")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["sender"] == "[address]"
    assert line["text"] == "[redacted]"
    assert line["service"] == "test"


def test_bad_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAKSPOST_DUPLICATE_WINDOW_SECONDS", "60")
    with pytest.raises(SettingsError, match="SAKSPOST_DUPLICATE_WINDOW_SECONDS must be larger"):
        load_settings()
    monkeypatch.setenv("SAKSPOST_DUPLICATE_WINDOW_SECONDS", "7200")
    monkeypatch.setenv("SAKSPOST_LOG_LEVEL", "loud")
    with pytest.raises(SettingsError, match="SAKSPOST_LOG_LEVEL"):
        load_settings()


def test_secrets_never_print() -> None:
    settings = Settings(
        graph_tenant_id="t", graph_client_id="c", graph_client_secret=SecretStr("hunter2")
    )
    assert "hunter2" not in repr(settings) + repr(settings.graph_app())
    certificate = Settings(
        graph_tenant_id="t",
        graph_client_id="c",
        graph_certificate_path=Path("/run/secrets/graph/graph.pfx"),
        graph_certificate_password=SecretStr("pfx-passord"),
    )
    assert "pfx-passord" not in repr(certificate) + repr(certificate.graph_app())
