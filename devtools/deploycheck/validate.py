"""Each rendered object against its schema, strictly (an unknown field is an error): Kubernetes's
own kinds against the Kubernetes 1.30 OpenAPI schemas (`kubernetes-validate`), KEDA's and the
Prometheus operator's against their CRDs' models (`cloudcoil-models-keda`,
`cloudcoil-models-prometheus-operator`, pydantic models generated from the CRD schemas, validated
with extra fields forbidden). A kind none of them knows is an error, never a pass."""

from __future__ import annotations

import importlib
from typing import Any

import kubernetes_validate
from pydantic import BaseModel, ValidationError

from devtools.deploycheck.render import Manifest

KUBERNETES_VERSION = "1.30"
# API group -> the cloudcoil package holding its CRDs' models.
CRD_MODELS = {
    "keda.sh": "cloudcoil.models.keda",
    "monitoring.coreos.com": "cloudcoil.models.prometheus_operator",
}


class InvalidObject(ValueError):
    """An object its schema refuses; the message names the object and the field."""


def name_of(manifest: Manifest) -> str:
    return f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"


def _crd_model(package: str, version: str, kind: str) -> type[BaseModel] | None:
    try:
        module = importlib.import_module(f"{package}.{version}")
    except ModuleNotFoundError:
        return None
    model: Any = getattr(module, kind, None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def check(manifest: Manifest) -> str:
    """Validate one object; the name of the check it passed."""
    group, _, version = str(manifest.get("apiVersion", "")).rpartition("/")
    kind = str(manifest.get("kind", ""))
    if group in CRD_MODELS:
        package = CRD_MODELS[group]
        model = _crd_model(package, version, kind)
        if model is None:
            raise InvalidObject(f"{name_of(manifest)}: {package} has no model of {group}/{version}")
        try:
            model.model_validate(manifest, strict=True, extra="forbid")
        except ValidationError as error:
            raise InvalidObject(f"{name_of(manifest)}: {error}") from None
        distribution = package.replace(".", "-").replace("_", "-")
        return f"CRD model ({distribution}), strict"
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError as error:
        raise InvalidObject(f"{name_of(manifest)}: {error.message}") from None
    except kubernetes_validate.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path)
        raise InvalidObject(f"{name_of(manifest)}: {where}: {error.message}") from None
    return f"Kubernetes {KUBERNETES_VERSION} schema, strict"
