"""`python -m devtools.deploycheck`: render every overlay, validate every object, lint the
Dockerfile, check the alert rules and the dashboard (`monitoring.py`); print which check each
kind got; exit 1 on any failure."""

from __future__ import annotations

import subprocess
import sys

from devtools.deploycheck.monitoring import check_monitoring
from devtools.deploycheck.render import DEPLOY, KUBECTL, RenderError, overlays, render
from devtools.deploycheck.validate import InvalidObject, check
from services.common.settings import REPO_ROOT

HADOLINT = KUBECTL.parent / "hadolint"
DOCKERFILE = DEPLOY / "Dockerfile"


def main() -> int:
    failures: list[str] = []
    checks: dict[str, str] = {}
    for overlay in overlays():
        try:
            manifests = render(overlay)
        except RenderError as error:
            failures.append(str(error))
            continue
        for manifest in manifests:
            try:
                checks[f"{manifest['apiVersion']} {manifest['kind']}"] = check(manifest)
            except InvalidObject as error:
                failures.append(f"{overlay.name}: {error}")
        print(f"{overlay.relative_to(REPO_ROOT)}: {len(manifests)} objects rendered")
    for kind, how in sorted(checks.items()):
        print(f"  {kind}: {how}")
    hadolint = subprocess.run(  # noqa: S603 - a fixed binary with a path argument
        [str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    if hadolint.returncode != 0:
        failures.append(f"hadolint: {hadolint.stdout.strip() or hadolint.stderr.strip()}")
    else:
        print(f"{DOCKERFILE.relative_to(REPO_ROOT)}: hadolint, no findings")
    checked, monitoring_failures = check_monitoring()
    for line in checked:
        print(line)
    failures += monitoring_failures
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
