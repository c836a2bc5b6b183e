"""AsyncAPI 3.0 documents: FastStream's generator, then one post-processing step, `complete`.

FastStream writes channels, operations, messages and payload schemas from a broker's
`subscriber`/`publisher` declarations and its handlers' type hints. `complete` adds what it leaves
out; nothing else edits a generated document.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.utils import ref

from schemas.commands import AUTHORIZATION_HEADER, COMMANDS
from schemas.events import ContractModel
from schemas.examples import EXAMPLES
from schemas.vocab import SCHEMA_VERSION, AlertKind

VERSION = f"{SCHEMA_VERSION}.0.0"

# Fixed, not the broker's URL: that comes from the settings, and a document must not change with
# the machine that generates it. Both servers refuse anonymous connections: every client logs in
# as its own NATS user with the permissions of services/common/permissions.py.
SERVERS: dict[str, Any] = {
    "local": {
        "host": "127.0.0.1:4222",
        "protocol": "nats",
        "description": "NATS JetStream of `sakspost up` (with `--cluster 3` also ports 4223 and "
        "4224); stream SAKSPOST holds the events. Logins: `<data-dir>/credentials/<user>.env`",
    },
    "production": {
        "host": "nats.nats.svc.cluster.local:4222",
        "protocol": "nats",
        "description": "The three-node JetStream cluster of the NATS Helm chart in Kubernetes, "
        "TLS from cert-manager (verify against its CA); stream SAKSPOST holds the events, "
        "replicated three times. Passwords come from Kubernetes Secrets",
    },
}
SECURITY_SCHEME = "natsLogin"


def security_scheme(identity: str | None) -> dict[str, Any]:
    """The user-password login, naming the NATS user this document's client logs in as."""
    who = (
        f"This service logs in as NATS user `{identity}`; its replies come to the inbox prefix "
        f"`_INBOX_{identity}`."
        if identity
        else "Each service logs in as the NATS user named after it; an integrator as "
        "`integrator`, which may read `sakspost.mail.>`, `sakspost.alert.>` and "
        "`sakspost.notice.>` through its own consumers (named `integrator-…`) and use the reply "
        "inbox prefix `_INBOX_integrator`; only `operator` (the CLI) and `overview` (the web "
        "service) may send commands, each carrying the acting person's or operator's token."
    )
    return {
        "type": "userPassword",
        "description": f"NATS user and password; anonymous connections are refused. {who} "
        "What each user may publish and subscribe to is declared in "
        "services/common/permissions.py.",
    }


PARAMETERS: dict[str, dict[str, Any]] = {
    "department": {
        "description": "A department key of the organisation config (a subject token: a-z, 0-9, "
        "_ and -)",
    },
    "kind": {
        "description": "What the alert is about (schemas/vocab.py AlertKind)",
        "enum": [kind.value for kind in AlertKind],
    },
}

_TRACE_HEADERS: dict[str, Any] = {
    "traceparent": {
        "type": "string",
        "description": "W3C Trace Context: the trace this message belongs to",
        "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
    },
    "tracestate": {"type": "string", "description": "W3C Trace Context: vendor trace state"},
}
EVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "The payload's event_id: JetStream drops a repeat of the same fact",
        },
        **_TRACE_HEADERS,
    },
    "required": ["Nats-Msg-Id"],
}
# Commands are NATS request-reply, not JetStream: no Nats-Msg-Id (the request_id deduplicates).
COMMAND_HEADERS: dict[str, Any] = {"type": "object", "properties": _TRACE_HEADERS}
# A request's headers: also the token of who asks (issue 19); a reply carries none.
REQUEST_HEADERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        AUTHORIZATION_HEADER: {
            "type": "string",
            "pattern": "^Bearer [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
            "description": "`Bearer <jwt>`: an Entra ID ID token of a person or an operator "
            "application's token, issued to SAKSPOST_AUTH_CLIENT_ID by the tenant "
            "SAKSPOST_AUTH_TENANT_ID; the answering service verifies it and records its actor",
        },
        **_TRACE_HEADERS,
    },
    "required": [AUTHORIZATION_HEADER],
}
_EXAMPLE_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
# The shape of a token, not one: its parts are placeholders.
_EXAMPLE_AUTHORIZATION = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzYWtzcG9zdCJ9.c2lnbmF0dXJl"

# Request subject -> (request model, reply model).
COMMAND_MODELS: dict[str, tuple[type[ContractModel], type[ContractModel]]] = {
    verb.subject: models for verb, models in COMMANDS.items()
}

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_SCHEMAS_PREFIX = "#/components/schemas/"


def faststream_document(*brokers: NatsBroker, title: str, description: str) -> dict[str, Any]:
    """FastStream's own AsyncAPI 3.0.0 document of the brokers' declarations, as JSON data."""
    factory = AsyncAPI(
        *brokers, schema_version="3.0.0", title=title, version=VERSION, description=description
    )
    document: dict[str, Any] = factory.to_specification().to_jsonable()
    return document


def service_document(
    broker: NatsBroker,
    title: str,
    description: str,
    *,
    examples: Mapping[str, ContractModel] = EXAMPLES,
    identity: str | None = None,
) -> dict[str, Any]:
    """A service's document: what its broker subscribes to and publishes, completed.

    A service that also consumes its own, internal models (ingest's work queue) passes their
    examples on top of the contract's: `examples={**EXAMPLES, "MessageWork": ...}`.
    """
    document = faststream_document(broker, title=title, description=description)
    return complete(document, examples=examples, identity=identity)


def complete(
    document: dict[str, Any],
    *,
    examples: Mapping[str, ContractModel] = EXAMPLES,
    commands: Mapping[str, tuple[type[ContractModel], type[ContractModel]]] = COMMAND_MODELS,
    identity: str | None = None,
) -> dict[str, Any]:
    """FastStream's document plus what it leaves out; the input is not changed.

    - `servers`: the fixed `local` and `production` servers replace the broker's (its URL comes
      from the settings), each with the user-password login (naming `identity`, the NATS user of
      the document's service), and every channel names them;
    - channel `parameters`: each `{department}` / `{kind}` placeholder of an address, described
      (and `kind` with the AlertKind values); an unknown placeholder raises ValueError;
    - message `headers`: events carry `Nats-Msg-Id` (= the payload's event_id) and the W3C
      `traceparent`/`tracestate`; command requests (request-reply, `commands` by subject) the
      required `Authorization: Bearer <token>` and trace context, their replies trace context
      only;
    - message `examples`: one per payload model, from `examples` (keyed by model name = the
      payload's name in components/schemas); a payload without an example raises ValueError;
    - `reply` on each operation that receives a command: a reply channel (the requester's inbox,
      address null) carrying the reply model, whose schema is added to components/schemas;
    - last, every local `$ref` is checked to resolve, so the official parser finds no invalid-ref.
    """
    document = copy.deepcopy(document)
    document["servers"] = copy.deepcopy(SERVERS)
    for server in document["servers"].values():
        server["security"] = [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}]
    # Whatever login the generating process had, the document shows the declared one only.
    document.setdefault("components", {})["securitySchemes"] = {
        SECURITY_SCHEME: security_scheme(identity)
    }
    for channel in document.get("channels", {}).values():
        channel["servers"] = [ref("servers", name) for name in SERVERS]
        _add_parameters(channel)
    components = document.setdefault("components", {})
    components.setdefault("messages", {})  # reply messages join FastStream's
    schemas = components.setdefault("schemas", {})
    for channel in document.get("channels", {}).values():
        is_command = channel["address"] in commands
        for message_ref in channel.get("messages", {}).values():
            message = _resolve(document, message_ref["$ref"])
            _describe_message(message, schemas, examples, is_command)
    for key, operation in document.get("operations", {}).items():
        channel = _resolve(document, operation["channel"]["$ref"])
        if operation["action"] == "receive" and channel["address"] in commands:
            _add_reply(document, key, operation, commands[channel["address"]], examples)
    dangling = sorted(set(_dangling_refs(document, document)))
    if dangling:
        raise ValueError(f"references that resolve to nothing: {', '.join(dangling)}")
    return document


def _add_parameters(channel: dict[str, Any]) -> None:
    names = _PLACEHOLDER.findall(channel.get("address") or "")
    unknown = [name for name in names if name not in PARAMETERS]
    if unknown:
        raise ValueError(f"{channel['address']}: no description of the parameter(s) {unknown}")
    if names:
        channel["parameters"] = {name: copy.deepcopy(PARAMETERS[name]) for name in names}


def _payload_names(schemas: Mapping[str, Any], payload: Mapping[str, Any]) -> list[str]:
    """The models of a payload: one, or each member of a (discriminated) union."""
    name = _schema_name(payload)
    members = schemas[name].get("oneOf")
    if members is None:
        return [name]
    return [_schema_name(member) for member in members]


def _schema_name(schema_ref: Mapping[str, Any]) -> str:
    target = str(schema_ref.get("$ref", ""))
    if not target.startswith(_SCHEMAS_PREFIX):
        raise ValueError(f"a payload is not a reference to components/schemas: {schema_ref}")
    return unquote(target.removeprefix(_SCHEMAS_PREFIX))


def _describe_message(
    message: dict[str, Any],
    schemas: Mapping[str, Any],
    examples: Mapping[str, ContractModel],
    is_command: bool,
) -> None:
    message["contentType"] = "application/json"
    message["headers"] = copy.deepcopy(REQUEST_HEADERS if is_command else EVENT_HEADERS)
    message["examples"] = [
        _example(name, examples, is_command) for name in _payload_names(schemas, message["payload"])
    ]
    if is_command:
        for example in message["examples"]:
            example["headers"][AUTHORIZATION_HEADER] = _EXAMPLE_AUTHORIZATION


def _example(name: str, examples: Mapping[str, ContractModel], is_command: bool) -> dict[str, Any]:
    if name not in examples:
        raise ValueError(f"no example payload for {name} (add one to schemas/examples.py)")
    model = examples[name]
    headers = {"traceparent": _EXAMPLE_TRACEPARENT}
    event_id = getattr(model, "event_id", None)
    if not is_command and event_id is not None:
        headers["Nats-Msg-Id"] = event_id
    return {
        "name": name,
        "headers": headers,
        "payload": model.model_dump(mode="json"),
    }


def _add_reply(
    document: dict[str, Any],
    operation_key: str,
    operation: dict[str, Any],
    models: tuple[type[ContractModel], type[ContractModel]],
    examples: Mapping[str, ContractModel],
) -> None:
    request, reply = models
    components = document["components"]
    for message_ref in operation["messages"]:
        message = _resolve(document, message_ref["$ref"])
        received = _payload_names(components["schemas"], message["payload"])
        if received != [request.__name__]:
            raise ValueError(f"{operation_key} receives {received}, not {request.__name__}")
    _add_model_schema(components["schemas"], reply)
    name = reply.__name__
    components["messages"].setdefault(
        name,
        {
            "name": name,
            "title": name,
            "contentType": "application/json",
            "payload": ref("components", "schemas", name),
            "headers": copy.deepcopy(COMMAND_HEADERS),
            "examples": [_example(name, examples, is_command=True)],
        },
    )
    channel_key = f"{operation_key}:Reply"
    document["channels"][channel_key] = {
        # Null: the requester's own inbox, the reply subject of the NATS request.
        "address": None,
        "description": f"The reply to {request.__name__}, on the requester's inbox",
        "messages": {name: ref("components", "messages", name)},
    }
    operation["reply"] = {
        "channel": ref("channels", channel_key),
        "messages": [ref("channels", channel_key, "messages", name)],
    }


def _add_model_schema(schemas: dict[str, Any], model: type[ContractModel]) -> None:
    """The model's JSON Schema and its definitions, referenced the way FastStream does."""
    schema = model.model_json_schema(ref_template=_SCHEMAS_PREFIX + "{model}")
    definitions = schema.pop("$defs", {})
    for name, definition in {**definitions, model.__name__: schema}.items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are named {name}")


def _resolve(document: Mapping[str, Any], target: str) -> dict[str, Any]:
    """The object a local `$ref` points to, following references to references."""
    node: Any = document
    for part in target.removeprefix("#/").split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    if not isinstance(node, dict):
        raise ValueError(f"{target} is not an object")
    if isinstance(node.get("$ref"), str):
        return _resolve(document, node["$ref"])
    return node


def _dangling_refs(root: Mapping[str, Any], value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        target = value.get("$ref")
        if isinstance(target, str) and target.startswith("#/"):
            try:
                _resolve(root, target)
            except (KeyError, TypeError, ValueError):
                yield target
        for child in value.values():
            yield from _dangling_refs(root, child)
    elif isinstance(value, list):
        for child in value:
            yield from _dangling_refs(root, child)
