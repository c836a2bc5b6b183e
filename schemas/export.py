"""JSON Schema and AsyncAPI documents generated from the contract models.

The committed files in `schemas/json/` and `schemas/asyncapi/` are what integrators read; a test
fails when they differ from what the models generate (`sakspost schemas export` rewrites them).
The AsyncAPI documents come from FastStream's declarations (`schemas/asyncapi.py`): the whole
contract `sakspost.json` from `schemas/contract.py`, one per service from its broker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.commands import COMMANDS
from schemas.events import ALL_MODELS, ContractModel
from schemas.vocab import SCHEMA_VERSION

SCHEMAS_DIR = Path(__file__).resolve().parent
JSON_DIR = SCHEMAS_DIR / "json"
ASYNCAPI_DIR = SCHEMAS_DIR / "asyncapi"


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
