"""Classifier throughput: mails parsed and classified per second on one core (goal: 500)."""

from __future__ import annotations

import time
from pathlib import Path

from services.classifier.corpus import classify_mime, eml_files
from services.classifier.received import default_classifier
from services.common.orgconfig import Organisation, load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG

# Long enough to average out timer noise, short enough for `make bench`.
MIN_SECONDS = 2.0


def bench_classifier(
    samples: Path, org: Organisation | None = None, min_seconds: float = MIN_SECONDS
) -> dict[str, float]:
    """Parse and classify every .eml under `samples` repeatedly, in this thread, after one warm-up
    pass (rule compilation and first-use caches are not what a running service pays per mail)."""
    organisation = org or load_organisation(DEFAULT_ORG_CONFIG)
    mails = [path.read_bytes() for path in eml_files([samples])]
    if not mails:
        raise ValueError(f"no .eml files under {samples}")
    classifier = default_classifier()  # rules and the current model, as the service runs
    for raw in mails:
        classify_mime(raw, classifier, organisation)
    classified = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < min_seconds:
        for raw in mails:
            classify_mime(raw, classifier, organisation)
        classified += len(mails)
        elapsed = time.perf_counter() - started
    return {
        "classifier.mails_per_second": round(classified / elapsed, 1),
        "classifier.ms_per_mail": round(1000 * elapsed / classified, 3),
        "classifier.mails": float(classified),
    }


if __name__ == "__main__":
    for key, value in bench_classifier(Path("samples")).items():
        print(f"{key}: {value}")
