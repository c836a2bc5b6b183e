"""AsyncAPI documents: FastStream's generator + `complete`, checked by the official parser."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
from faststream.nats import JStream, NatsBroker

from schemas.asyncapi import complete, faststream_document, service_document
from schemas.commands import Verb
from schemas.contract import contract_document, undeclared_channels
from schemas.events import ContractModel, MailReceived
from schemas.examples import EXAMPLES
from services.common.settings import REPO_ROOT
from tests.foundation.asyncapi_brokers import classifier_broker, router_broker

TOOL = REPO_ROOT / "devtools" / "asyncapi"


@pytest.fixture(scope="module")
def validator() -> Path:
    """validate.mjs with its locked dependencies installed (the target `make lint` uses)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the official AsyncAPI parser runs on Node.js")
    subprocess.run(
        ["make", "--no-print-directory", "devtools/asyncapi/node_modules/.installed"],
        cwd=REPO_ROOT,
        check=True,
    )
    return TOOL / "validate.mjs"


def validate(validator: Path, tmp_path: Path, **documents: dict[str, Any]) -> tuple[int, str]:
    files = []
    for name, document in documents.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        files.append(str(path))
    done = subprocess.run(
        ["node", str(validator), *files], capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout + done.stderr


def test_the_parser_rejects_a_payload_ref_resolved_from_the_root(
    validator: Path, tmp_path: Path
) -> None:
    # Today's hand-written documents: pydantic's `#/$defs/X` left inside a message payload.
    document = {
        "asyncapi": "3.0.0",
        "info": {"title": "broken", "version": "1.0.0"},
        "channels": {"received": {"address": "sakspost.mail.received.x", "messages": {}}},
        "components": {
            "messages": {
                "MailReceived": {
                    "payload": {
                        "type": "object",
                        "properties": {"sender": {"$ref": "#/$defs/Party"}},
                    }
                }
            }
        },
    }
    code, output = validate(validator, tmp_path, broken=document)
    assert code == 1
    assert "invalid-ref" in output
    assert "/components/messages/MailReceived/payload/properties/sender/$ref" in output


def test_the_parser_accepts_the_generated_documents(validator: Path, tmp_path: Path) -> None:
    code, output = validate(
        validator,
        tmp_path,
        classifier=service_document(classifier_broker(), "sakspost-classifier", "Classifies"),
        router=service_document(router_broker(), "sakspost-router", "Routes and answers"),
        sakspost=contract_document(),
    )
    assert code == 0, output
    assert "3 AsyncAPI document(s) valid" in output


def test_every_placeholder_becomes_a_described_parameter() -> None:
    document = service_document(router_broker(), "sakspost-router", "Routes")
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    alert = channels["sakspost.alert.{kind}.{department}"]
    assert set(alert["parameters"]) == {"kind", "department"}
    assert "overdue" in alert["parameters"]["kind"]["enum"]
    assert alert["parameters"]["department"]["description"]
    assert set(channels["sakspost.mail.routed.{department}"]["parameters"]) == {"department"}
    assert "parameters" not in channels["sakspost.mail.classified.*"]


def test_an_undescribed_placeholder_is_refused() -> None:
    broker = NatsBroker()
    broker.publisher("sakspost.mail.received.{mailbox}", schema=MailReceived)
    with pytest.raises(ValueError, match="mailbox"):
        service_document(broker, "t", "d")


def test_events_carry_their_msg_id_and_trace_context_and_commands_trace_context() -> None:
    document = service_document(router_broker(), "sakspost-router", "Routes")
    messages = document["components"]["messages"]
    routed = messages["mail.routed:Message"]
    assert routed["headers"]["required"] == ["Nats-Msg-Id"]
    assert {"traceparent", "tracestate"} <= set(routed["headers"]["properties"])
    example = routed["examples"][0]
    assert example["headers"]["Nats-Msg-Id"] == example["payload"]["event_id"]
    assign = messages["cmd.assign:SubscribeMessage"]
    assert "Nats-Msg-Id" not in assign["headers"]["properties"]
    assert "traceparent" in assign["headers"]["properties"]
    # Issue 19: a command request carries who asks; its reply does not.
    assert assign["headers"]["required"] == ["Authorization"]
    assert assign["examples"][0]["headers"]["Authorization"].startswith("Bearer ")
    assert "Authorization" not in messages["CaseReply"]["headers"]["properties"]


def test_every_commands_description_says_which_token_who_may_and_the_errors() -> None:
    document = contract_document()
    commands = {
        key: operation
        for key, operation in document["operations"].items()
        if key.startswith("cmd.")
    }
    assert {key.removeprefix("cmd.") for key in commands} == {verb.value for verb in Verb}
    for key, operation in commands.items():
        channel = document["channels"][operation["channel"]["$ref"].split("/")[-1]]
        text = channel.get("description", "") + operation.get("description", "")
        for needed in ("Authorization: Bearer", "SAKSPOST_AUTH_CLIENT_ID", "Who may", "forbidden"):
            assert needed in text, (key, needed)


def test_every_message_has_examples_that_fit_its_payload_schema() -> None:
    # The official parser does not check examples against payloads in AsyncAPI 3; this does.
    for document in (
        service_document(router_broker(), "sakspost-router", "Routes"),
        contract_document(),
    ):
        components = document["components"]
        for name, message in components["messages"].items():
            assert message["examples"], name
            # The payload is a $ref into components; resolve it against the document's own.
            schema = {**message["payload"], "components": components}
            for example in message["examples"]:
                jsonschema.validate(example["payload"], schema)


def test_a_discriminated_union_gets_an_example_of_each_member() -> None:
    document = service_document(router_broker(), "sakspost-router", "Routes")
    message = document["components"]["messages"][
        "router:sakspost.mail.classified.*:SubscribeMessage"
    ]
    names = [example["name"] for example in message["examples"]]
    assert names == ["MailClassified", "MailArchived"]


def test_a_payload_without_an_example_is_refused() -> None:
    document = faststream_document(classifier_broker(), title="t", description="d")
    with pytest.raises(ValueError, match="MailReceived"):
        complete(document, examples={})


def test_a_service_may_add_examples_of_its_internal_models() -> None:
    class Work(ContractModel):
        type: Literal["work"] = "work"
        mailbox: str

    broker = NatsBroker()

    @broker.subscriber("sakspost_ingest.work.*", stream=JStream("WORK", declare=False))
    async def on_work(item: Work) -> None:
        raise NotImplementedError

    with pytest.raises(ValueError, match="Work"):
        service_document(broker, "sakspost-ingest", "Ingest")
    examples = {**EXAMPLES, "Work": Work(mailbox="post@ha.kommune.no")}
    document = service_document(broker, "sakspost-ingest", "Ingest", examples=examples)
    [message] = document["components"]["messages"].values()
    assert message["examples"][0]["payload"] == {"type": "work", "mailbox": "post@ha.kommune.no"}


def test_commands_get_their_reply_from_the_commands_table() -> None:
    document = service_document(router_broker(), "sakspost-router", "Routes")
    operation = document["operations"]["cmd.assign"]
    assert operation["action"] == "receive"
    reply_ref = operation["reply"]["messages"][0]["$ref"]
    assert reply_ref == "#/channels/cmd.assign:Reply/messages/CaseReply"
    reply_channel = document["channels"]["cmd.assign:Reply"]
    assert reply_channel["address"] is None
    assert document["components"]["messages"]["CaseReply"]["payload"] == {
        "$ref": "#/components/schemas/CaseReply"
    }
    assert "CaseDetail" in document["components"]["schemas"]
    assert document["operations"]["cmd.list"]["reply"]["messages"][0]["$ref"].endswith(
        "/CaseListReply"
    )
    events = [key for key in document["operations"] if not key.startswith("cmd.")]
    assert events
    assert all("reply" not in document["operations"][key] for key in events)


def test_servers_are_fixed_not_the_brokers_url() -> None:
    broker = NatsBroker("nats://nats.internal.example:4222")
    broker.publisher("sakspost.mail.received.{department}", schema=MailReceived)
    document = service_document(broker, "t", "d", identity="router")
    login = [{"$ref": "#/components/securitySchemes/natsLogin"}]
    assert {name: server["host"] for name, server in document["servers"].items()} == {
        "local": "127.0.0.1:4222",
        "production": "nats.nats.svc.cluster.local:4222",
    }
    assert all(server["security"] == login for server in document["servers"].values())
    scheme = document["components"]["securitySchemes"]["natsLogin"]
    assert scheme["type"] == "userPassword"
    assert "`router`" in scheme["description"] and "_INBOX_router" in scheme["description"]
    assert all(
        channel["servers"] == [{"$ref": "#/servers/local"}, {"$ref": "#/servers/production"}]
        for channel in document["channels"].values()
        if channel["address"] is not None
    )


def test_complete_leaves_its_input_alone() -> None:
    document = faststream_document(router_broker(), title="t", description="d")
    before = copy.deepcopy(document)
    complete(document)
    assert document == before


def test_a_dangling_reference_is_refused() -> None:
    document = faststream_document(classifier_broker(), title="t", description="d")
    del document["components"]["schemas"]["Party"]
    with pytest.raises(ValueError, match="#/components/schemas/Party"):
        complete(document)


def test_the_services_send_only_on_contract_subjects() -> None:
    contract = contract_document()
    for broker in (classifier_broker(), router_broker()):
        assert undeclared_channels(service_document(broker, "s", "d"), contract) == []
    stray = NatsBroker()
    stray.publisher("sakspost.mail.misfiled.{department}", schema=MailReceived)
    stray_document = service_document(stray, "s", "d")
    assert undeclared_channels(stray_document, contract) == ["sakspost.mail.misfiled.{department}"]
