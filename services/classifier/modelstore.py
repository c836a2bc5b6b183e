"""Where models live: `models/<version>.npz` with its training report `<version>.md`, and
`models/current.json`, which names the model in use and keeps who promoted which model when.

A model becomes current only by `sakspost classify --promote VERSION --by ID`: neither training
nor learning from corrections changes the classifier silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from services.classifier.model import ModelError, TextModel, load_model

DEFAULT_MODEL_DIR = Path(__file__).with_name("models")
CURRENT_FILE = "current.json"
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Promotion:
    version: str
    by: str
    at: str  # ISO 8601, UTC

    def as_dict(self) -> dict[str, str]:
        return {"version": self.version, "by": self.by, "at": self.at}


def check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise ModelError(f"{version!r} is not a model version (letters, digits, . _ -)")
    return version


def model_path(directory: Path, version: str) -> Path:
    return directory / f"{check_version(version)}.npz"


def report_path(directory: Path, version: str) -> Path:
    return directory / f"{check_version(version)}.md"


def _read_current(directory: Path) -> dict[str, Any]:
    path = directory / CURRENT_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelError(f"{path}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: not a JSON object")
    return data


def current_version(directory: Path = DEFAULT_MODEL_DIR) -> str | None:
    version = _read_current(directory).get("version")
    return str(version) if version else None


def history(directory: Path = DEFAULT_MODEL_DIR) -> list[Promotion]:
    return [Promotion(**entry) for entry in _read_current(directory).get("history", [])]


def load_current(directory: Path = DEFAULT_MODEL_DIR) -> TextModel | None:
    """The model in use, or None where the repository has none (the rules then decide alone)."""
    version = current_version(directory)
    return load_model(model_path(directory, version)) if version else None


def promote(directory: Path, version: str, by: str, at: datetime) -> Promotion:
    """Make `version` current, recording who and when; the model file must exist and load."""
    load_model(model_path(directory, version))
    if not by.strip():
        raise ModelError("a promotion needs the staff id of the person who decides it")
    promotion = Promotion(version, by.strip(), at.isoformat(timespec="seconds"))
    current = _read_current(directory)
    entries = [*current.get("history", []), promotion.as_dict()]
    data = {"version": version, "promoted_by": promotion.by, "promoted_at": promotion.at}
    path = directory / CURRENT_FILE
    path.write_text(
        json.dumps({**data, "history": entries}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    return promotion
