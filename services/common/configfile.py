"""Reading configuration with errors a person can act on: each names the file (or variable), the
field and the fix. Every YAML file and settings class in Sakspost goes through here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings

ModelT = TypeVar("ModelT", bound=BaseModel)
SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def describe_file_errors(source: Path, error: ValidationError, what: str) -> str:
    lines = [f"{source}: the {what} is not valid:"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required (fix: add it)"
        elif item["type"] == "extra_forbidden":
            message = "is not a known field (fix: remove it or check its spelling)"
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def describe_env_errors(prefix: str, error: ValidationError) -> str:
    lines = [f"the {prefix}* environment is not valid:"]
    for item in error.errors():
        where = "_".join(str(part) for part in item["loc"]).upper()
        name = f"{prefix}{where}" if where else "(settings)"
        lines.append(f"  {name}: {item['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def read_yaml(source: Path, what: str, env_var: str, error_type: type[ValueError]) -> Any:
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise error_type(
            f"{source}: cannot read the {what} ({error.strerror}) "
            f"(fix: set {env_var} to an existing YAML file)"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise error_type(f"{source}: not valid YAML: {error}") from None


def validate_mapping(
    data: Any, source: Path, model: type[ModelT], what: str, error_type: type[ValueError]
) -> ModelT:
    if not isinstance(data, dict):
        raise error_type(f"{source}: expected a mapping at the top level (fix: see config/)")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise error_type(describe_file_errors(source, error, what)) from None


def load_env_model(model: type[SettingsT], prefix: str, error_type: type[ValueError]) -> SettingsT:
    """`model` from the environment, with an error that names each bad variable."""
    try:
        return model()
    except ValidationError as error:
        raise error_type(describe_env_errors(prefix, error)) from None
