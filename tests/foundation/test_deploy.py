"""The Kubernetes manifests: one Deployment per service, probes on the service's own endpoints,
least privilege, and NATS permissions that make deleting a stream impossible (R13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sakspost.components import SERVICE_NAMES
from services.common.settings import DEFAULT_HTTP_PORTS, REPO_ROOT, Settings

DEPLOY = REPO_ROOT / "deploy"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def test_kustomization_lists_existing_files() -> None:
    kustomization = _documents(DEPLOY / "kustomization.yaml")[0]
    for resource in kustomization["resources"]:
        assert (DEPLOY / resource).is_file(), resource
    for generator in kustomization["configMapGenerator"]:
        for entry in generator.get("files", []):
            assert (DEPLOY / entry.split("=", 1)[-1]).resolve().is_file(), entry


def test_environment_names_are_settings() -> None:
    kustomization = _documents(DEPLOY / "kustomization.yaml")[0]
    (env,) = [g for g in kustomization["configMapGenerator"] if g["name"] == "sakspost-env"]
    known = {f"SAKSPOST_{name.upper()}" for name in Settings.model_fields}
    for literal in env["literals"]:
        assert literal.split("=", 1)[0] in known, literal


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_service_has_a_hardened_deployment_with_its_own_probes(name: str) -> None:
    (deployment,) = [
        d for d in _documents(DEPLOY / "base" / f"{name}.yaml") if d["kind"] == "Deployment"
    ]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == [f"services.{name}"]
    assert container["ports"][0]["containerPort"] == DEFAULT_HTTP_PORTS[name]
    env = {e["name"]: e for e in container["env"]}
    assert env["SAKSPOST_HTTP_PORT"]["value"] == str(DEFAULT_HTTP_PORTS[name])
    assert env["SAKSPOST_NATS_USER"]["value"] == name
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # Graceful stop (SIGTERM drains in-flight work) needs more than the default 30 s.
    assert pod["terminationGracePeriodSeconds"] >= 60
