"""The event contract (docs/design.md): pinned fields, subjects, ids and generated documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import jsonschema
import pytest
from pydantic import ValidationError

from sakspost.export import stale_files
from schemas import subjects
from schemas.contract import contract_document
from schemas.events import ALL_MODELS, MailClassified, MailReceived, MailRouted, Party
from schemas.export import JSON_DIR, json_schema
from schemas.identity import CASE_ID_LENGTH, make_case_id, make_event_id
from schemas.vocab import AssignmentPolicy, MailClass
from services.common.settings import Settings

PINNED_FIELDS = {
    "received": {
        "mailbox",
        "internet_message_id",
        "graph_message_id",
        "conversation_id",
        "sender",
        "subject",
        "received_at",
        "mime_sha256",
        "parse_defects",
    },
    "classified": {
        "mail_class",
        "confidence",
        "sensitive",
        "topics",
        "reasons",
        "suggested_department",
    },
    "routed": {"mail_class", "assignee", "policy", "supervisors", "due_at"},
    "archived": {"archive_system", "journalpost_id", "registry_number", "documents"},
    "completed": {"by", "via"},
}
COMMON_FIELDS = {"schema_version", "event_id", "case_id", "occurred_at", "department"}


@pytest.mark.parametrize("event", sorted(PINNED_FIELDS))
def test_pinned_field_names_are_in_every_model(event: str) -> None:
    fields = set(ALL_MODELS[event].model_fields)
    assert PINNED_FIELDS[event] | COMMON_FIELDS <= fields


def test_committed_schemas_and_asyncapi_match_the_models() -> None:
    # `sakspost schemas export` rewrites them; this fails when someone forgot to.
    assert stale_files(Settings()) == []


def test_every_event_model_has_a_committed_json_schema_that_validates_its_events() -> None:
    event = _received()
    schema = json.loads((JSON_DIR / "received.v1.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(event.to_json()), schema)
    events = {p.name for p in JSON_DIR.glob("*.json") if not p.name.startswith("cmd.")}
    assert events == {f"{n}.v1.json" for n in ALL_MODELS}


def test_contract_asyncapi_lists_every_public_subject() -> None:
    addresses = {c["address"] for c in contract_document()["channels"].values()}
    for event in PINNED_FIELDS:
        assert f"sakspost.mail.{event}.{{department}}" in addresses
    assert "sakspost.alert.{kind}.{department}" in addresses
    assert "sakspost.notice.sent.{department}" in addresses


def _received(**overrides: object) -> MailReceived:
    fields: dict[str, object] = {
        "case_id": make_case_id("post@ha.kommune.no", "<abc@x.invalid>", "g1"),
        "department": "post",
        "mailbox": "post@ha.kommune.no",
        "internet_message_id": "abc@x.invalid",
        "graph_message_id": "g1",
        "sender": Party(address="a@x.invalid", name="A"),
        "subject": "Søknad",
        "received_at": datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        "mime_sha256": "a" * 64,
        "mime_size": 10,
    }
    fields.update(overrides)
    return MailReceived.build(**fields)


def test_received_subject_and_deterministic_event_id() -> None:
    first, again = _received(), _received()
    assert first.nats_subject() == "sakspost.mail.received.post"
    assert first.event_id == again.event_id  # the same fact: doubles as Nats-Msg-Id


def test_timestamps_are_utc_and_naive_ones_are_refused() -> None:
    oslo = timezone(timedelta(hours=1))
    event = _received(received_at=datetime(2026, 11, 25, 11, 0, tzinfo=oslo))
    assert event.received_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert json.loads(event.to_json())["received_at"].endswith("Z")
    with pytest.raises(ValidationError):
        _received(received_at=datetime(2026, 11, 25, 10, 0))


def test_vocabularies_are_pinned() -> None:
    assert [c.value for c in MailClass] == ["arkivverdig", "offisiell", "privat"]
    assert {p.value for p in AssignmentPolicy} == {
        "thread",
        "rule",
        "load",
        "manual",
        "outlook",
        "auto_privat",
        "supervisor",
        "unassigned",
    }
    with pytest.raises(ValidationError):
        MailClassified(
            event_id="e",
            case_id="c",
            occurred_at=datetime.now(UTC),
            department="post",
            mail_class="viktig",
            confidence=0.5,
        )
    with pytest.raises(ValidationError):
        MailRouted(
            event_id="e",
            case_id="c",
            occurred_at=datetime.now(UTC),
            department="post",
            mail_class="offisiell",
            assignee=None,
            policy="random",
        )


def test_case_id_is_short_url_safe_and_per_mailbox() -> None:
    one = make_case_id("post@ha.kommune.no", "<m1@x>", "g")
    assert len(one) == CASE_ID_LENGTH
    assert one.isalnum() and one == one.lower()
    assert make_case_id("POST@ha.kommune.no", " m1@x ", "other") == one
    # A mail sent to two official addresses is two cases.
    assert make_case_id("bygg@ha.kommune.no", "<m1@x>", "g") != one
    # Without a Message-ID the Graph immutable id stands in.
    assert make_case_id("post@ha.kommune.no", None, "g1") != make_case_id(
        "post@ha.kommune.no", None, "g2"
    )
    assert make_event_id("routed", one, "1") != make_event_id("routed", one, "2")


@pytest.mark.parametrize("token", ["po.st", "*", ">", "Bygg", "", "a b"])
def test_subject_builders_refuse_tokens_that_would_break_routing(token: str) -> None:
    with pytest.raises(ValueError, match="not a valid subject token"):
        subjects.mail_subject("received", token)


def test_department_field_refuses_wildcards() -> None:
    with pytest.raises(ValidationError):
        _received(department="post.>")


def test_readers_ignore_fields_added_later() -> None:
    payload = json.loads(_received().to_json())
    payload["a_field_from_version_1_1"] = True
    assert MailReceived.model_validate(payload).case_id == payload["case_id"]


def test_json_schema_has_stable_id() -> None:
    assert json_schema("received", MailReceived)["$id"] == "urn:sakspost:schema:received:v1"
