"""JSON Schema and AsyncAPI documents generated from the contract models.

The committed files in `schemas/json/` and `schemas/asyncapi/` are what integrators read; a test
fails when they differ from what the models generate (`sakspost schemas export` rewrites them).
The whole contract `sakspost.json` comes from FastStream (`schemas/contract.py`). The hand-written
`asyncapi_document` below still builds each service's document from `Service.asyncapi()`; it goes
when the services declare their channels on their FastStream broker (`schemas.asyncapi.
service_document`), whose output the official parser accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.commands import COMMANDS
from schemas.events import ALL_MODELS, ContractModel
from schemas.vocab import SCHEMA_VERSION

SCHEMAS_DIR = Path(__file__).resolve().parent
JSON_DIR = SCHEMAS_DIR / "json"
ASYNCAPI_DIR = SCHEMAS_DIR / "asyncapi"


@dataclass(frozen=True)
class Channel:
    """A subject (pattern) and the models that travel on it."""

    name: str
    address: str
    models: tuple[type[ContractModel], ...]
    description: str = ""


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def json_schema(name: str, model: type[ContractModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:sakspost:schema:{name}:v{SCHEMA_VERSION}"
    return schema


def json_schema_files() -> dict[str, str]:
    files = {
        f"{name}.v{SCHEMA_VERSION}.json": dumps(json_schema(name, model))
        for name, model in sorted(ALL_MODELS.items())
    }
    for verb, (request, reply) in COMMANDS.items():
        for part, model in (("request", request), ("reply", reply)):
            name = f"cmd.{verb.value}.{part}"
            files[f"{name}.v{SCHEMA_VERSION}.json"] = dumps(json_schema(name, model))
    return files


def asyncapi_document(
    title: str,
    description: str,
    receives: Iterable[Channel] = (),
    sends: Iterable[Channel] = (),
) -> dict[str, Any]:
    """An AsyncAPI 3.0 document; payloads are the models' JSON Schemas."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}

    def add(channel: Channel, action: str) -> None:
        key = channel.name.replace(".", "_").replace(">", "all").replace("*", "any")
        channel_messages = {}
        for model in channel.models:
            messages[model.__name__] = {
                "name": model.__name__,
                "contentType": "application/json",
                "payload": json_schema(model.__name__, model),
            }
            channel_messages[model.__name__] = {"$ref": f"#/components/messages/{model.__name__}"}
        channels[key] = {
            "address": channel.address,
            "description": channel.description.strip() or channel.name,
            "messages": channel_messages,
        }
        operations[f"{action}_{key}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [
                {"$ref": f"#/channels/{key}/messages/{model.__name__}"} for model in channel.models
            ],
        }

    for channel in receives:
        add(channel, "receive")
    for channel in sends:
        add(channel, "send")
    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": f"{SCHEMA_VERSION}.0.0", "description": description},
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:4222", "protocol": "nats", "description": "sakspost up"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
