"""The redaction processor: no mail bodies, citizens' addresses or identity numbers in logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext
from pydantic import SecretStr

from schemas.events import MailReceived, Party
from services.common.logging import REDACTED, Redactor, configure_logging
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


FNR = "01019000008"  # valid control digits
GROUPED_FNR = f"{FNR[:2]}.{FNR[2:4]}.{FNR[4:6]}\u00a0{FNR[6:9]}\u00a0{FNR[9:]}"


def _received() -> MailReceived:
    return MailReceived.build(
        case_id="CASE1",
        department="post",
        mailbox="post@ha.kommune.no",
        internet_message_id="m1@example.org",
        graph_message_id="g1",
        sender=Party(address="ola@citizen.example", name="Ola Nordmann"),
        subject="Sjukemelding",
        received_at=datetime.now(UTC),
        mime_sha256="0" * 64,
        mime_size=1,
    )


@dataclass
class _Forward:
    owner: str
    mail_body: str
    note: str


def test_models_and_dataclasses_are_logged_as_redacted_fields_never_raw() -> None:
    redact = Redactor(allowed_domains=["ha.kommune.no"])
    forward = _Forward("post@ha.kommune.no", "Hei, eg er sjuk", f"fnr {GROUPED_FNR}")
    event = redact(None, "info", {"event": "x", "mail": _received(), "forward": forward})
    mail = event["mail"]
    assert mail["model"] == "MailReceived" and mail["case_id"] == "CASE1"
    assert mail["subject"] == REDACTED
    assert mail["sender"]["address"] == "[address]"
    assert event["forward"] == {
        "dataclass": "_Forward",
        "owner": "post@ha.kommune.no",
        "mail_body": REDACTED,
        "note": "fnr [id-number]",
    }


def test_reprs_in_strings_lose_their_content_fields() -> None:
    redact = Redactor()
    text = f"handling {_received()!r} and {_Forward('a', 'Hei, eg er sjuk', 'n')!r}"
    event = redact(None, "info", {"event": text, "error": ValueError(f"bad {FNR}")})
    assert "Sjukemelding" not in event["event"] and "eg er sjuk" not in event["event"]
    assert "subject=[redacted]" in event["event"] and "ola@citizen" not in event["event"]
    assert event["error"] == "ValueError('bad [id-number]')"
    # A pydantic error quotes the input it refused.
    error = "1 validation error\n  Input should be a valid integer [input_value='Eg er sjuk', ...]"
    assert "Eg er sjuk" not in redact.redact(error)


@pytest.mark.parametrize(
    "written",
    [
        "ola%40citizen.example",
        "ola%2540citizen.example",
        "OLA%40CITIZEN.EXAMPLE",
        "ola&#64;citizen.example",
        "ola&#x40;citizen.example",
        "ola(at)citizen.example",
        "ola [at] citizen.example",
        "mailto:ola.nordmann%2Bsak@citizen.example",
    ],
)
def test_encoded_addresses_are_masked(written: str) -> None:
    redacted = Redactor(allowed_domains=["ha.kommune.no"]).redact(f"from {written} today")
    assert "citizen" not in redacted.lower() and "[address]" in redacted
    assert Redactor(["ha.kommune.no"]).redact("post%40ha.kommune.no") == "post%40ha.kommune.no"


def test_identity_numbers_grouped_by_no_break_spaces_are_masked() -> None:
    redact = Redactor()
    for written in (GROUPED_FNR, f"{FNR[:6]}\u202f{FNR[6:]}", f"{FNR[:6]}\u00a0{FNR[6:]}"):
        assert redact.redact(f"om {written}.") == "om [id-number]."


@pytest.mark.parametrize(
    "key", ["subject", "mail_body", "html_body", "htmlBody", "body", "text", "plain_text", "html"]
)
def test_content_keys_are_dropped_at_any_depth(key: str) -> None:
    event = Redactor()(None, "info", {key: "Hei", "nested": [{key: "Hei"}], "case_id": "C"})
    assert event == {key: REDACTED, "nested": [{key: REDACTED}], "case_id": "C"}


def test_a_long_run_of_letters_is_redacted_in_linear_time() -> None:
    # Unbounded address patterns backtrack quadratically on a long word without "@".
    text = "a" * 1_000_000
    assert Redactor().redact(text) == text


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


@pytest.mark.usefixtures("restored_logging")
def test_log_lines_carry_the_current_spans_trace_and_span_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("test", "info", "json")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("handling") as span:
        structlog.get_logger("t").info("inside")
        logging.getLogger("nats.aio.client").warning("library line inside")
    structlog.get_logger("t").info("outside")
    inside, library, outside = (
        json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-3:]
    )
    context = span.get_span_context()
    for line in (inside, library):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in outside and "span_id" not in outside


@pytest.mark.usefixtures("restored_logging")
def test_a_trace_id_that_holds_an_identity_number_is_not_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Random hex ids sometimes hold eleven digits in a row that pass the mod-11 check.
    configure_logging("test", "info", "json")
    context = SpanContext(
        trace_id=int("ab01019000008cd0ab01019000008cd0", 16),
        span_id=int("a01019000008cd0e", 16),
        is_remote=False,
    )
    with trace.use_span(NonRecordingSpan(context)):
        structlog.get_logger("t").info("inside", note="ab01019000008cd")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["trace_id"] == "ab01019000008cd0ab01019000008cd0"
    assert line["span_id"] == "a01019000008cd0e"
    assert "01019000008" not in line["note"]  # what the mail's side writes is still masked


@pytest.mark.usefixtures("restored_logging")
def test_configured_logging_redacts_models_in_library_log_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("test", "info", "json", allowed_domains=["ha.kommune.no"])
    logging.getLogger("nats.aio.client").warning("failed on %r", _received())
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Sjukemelding" not in line and "ola@citizen" not in line
    assert "subject=[redacted]" in json.loads(line)["event"]


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
