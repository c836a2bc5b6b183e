"""`sakspost schemas export`: write (or check) the generated contract documents."""

from __future__ import annotations

from pathlib import Path

from sakspost.registry import built_services
from schemas.contract import contract_document
from schemas.export import ASYNCAPI_DIR, JSON_DIR, dumps, json_schema_files
from services.common.orgconfig import load_organisation
from services.common.settings import Settings


def service_documents(settings: Settings) -> dict[str, str]:
    """The AsyncAPI document of every service present, built from its code."""
    org = load_organisation(settings.org_config)
    return {
        f"{service.name}.json": dumps(service.asyncapi())
        for service in built_services(settings, org)
    }


def generated_files(settings: Settings) -> dict[Path, str]:
    files = {JSON_DIR / name: text for name, text in json_schema_files().items()}
    files[ASYNCAPI_DIR / "sakspost.json"] = dumps(contract_document())
    for name, text in service_documents(settings).items():
        files[ASYNCAPI_DIR / name] = text
    return files


def stale_files(settings: Settings) -> list[Path]:
    """Generated files whose committed copy is missing or differs, and committed extras."""
    files = generated_files(settings)
    stale = [
        path
        for path, text in files.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    for folder in (JSON_DIR, ASYNCAPI_DIR):
        stale.extend(p for p in folder.glob("*.json") if p not in files)
    return sorted(stale)


def write_files(settings: Settings) -> list[Path]:
    files = generated_files(settings)
    for folder in (JSON_DIR, ASYNCAPI_DIR):
        folder.mkdir(parents=True, exist_ok=True)
        for extra in folder.glob("*.json"):
            if extra not in files:
                extra.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return sorted(files)
