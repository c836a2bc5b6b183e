"""The image: built from a lock with hashes that pins exactly what requirements.lock pins, on a base
pinned by digest, with no configuration inside it, and no lock that names a package index."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from services.common.settings import REPO_ROOT

DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
LOCKS = ("requirements.lock", "requirements-dev.lock", "requirements-image.lock")
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)


def _pins(name: str) -> dict[str, str]:
    text = (REPO_ROOT / name).read_text(encoding="utf-8")
    return {canonicalize_name(package): version for package, version in PIN.findall(text)}


def test_image_lock_pins_what_requirements_lock_pins_plus_the_build_backend() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    backend = {canonicalize_name(Requirement(r).name) for r in project["build-system"]["requires"]}
    image = _pins("requirements-image.lock")
    assert {k: v for k, v in image.items() if k not in backend} == _pins("requirements.lock")
    assert backend <= set(image)


def test_every_pin_of_the_image_lock_has_hashes() -> None:
    text = (REPO_ROOT / "requirements-image.lock").read_text(encoding="utf-8")
    # A requirement is its pin line and the continuation lines after it, up to the next pin.
    starts = [match.start() for match in PIN.finditer(text)]
    assert len(starts) == len(_pins("requirements-image.lock"))
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        entry = text[start:end]
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_no_lock_names_an_index_or_a_download_location() -> None:
    for name in LOCKS:
        for line in (REPO_ROOT / name).read_text(encoding="utf-8").splitlines():
            option = line.strip()
            assert not option.startswith(("-i ", "--index-url", "--extra-index-url")), name
            assert not option.startswith(("-f ", "--find-links", "--trusted-host")), name
            assert "://" not in option, (name, line)


def test_base_image_is_pinned_by_digest_and_every_stage_uses_it() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    (base,) = re.findall(r"^ARG BASE=(\S+)$", text, re.MULTILINE)
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base)
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", text, re.MULTILINE)
    assert [image for image, _stage in stages] == ["${BASE}", "${BASE}"]
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == len(stages)


def test_image_installs_with_hashes_runs_as_non_root_and_holds_no_configuration() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "--require-hashes" in text
    assert "-r requirements-image.lock" in text
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    # The organisation, notifier and WebSak files are mounted from ConfigMaps, never baked in.
    copied = [line.split()[1:-1] for line in text.splitlines() if line.startswith("COPY ")]
    assert copied
    assert all(not source.strip("./").startswith("config") for line in copied for source in line)
