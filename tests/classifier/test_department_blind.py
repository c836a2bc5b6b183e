"""Department suggestion from post@ on the written blind check (tests/classifier/
department_blind.yaml): postliste titles across all eight departments, written before the
department work and never tuned on. Every department is there, so a classifier that sends
everything to one department, or leaves everything with post@, fails."""

from __future__ import annotations

from collections import Counter

from services.classifier.realeval import evaluate_titles
from services.classifier.realtitles import title_key
from services.classifier.received import default_classifier
from services.classifier.train import blind_department_titles
from services.common.orgconfig import Organisation


def test_every_department_is_judged() -> None:
    blind = blind_department_titles()
    assert blind.departments is not None
    counts = Counter(blind.departments[title_key(t.title)] for t in blind.titles)
    assert set(counts) == {"post", "teknisk", "stab", "skule", "kultur", "bygg", "it", "helse"}
    assert min(n for department, n in counts.items() if department != "post") >= 8


def test_departments_from_post(org: Organisation) -> None:
    blind = blind_department_titles()
    figures = evaluate_titles(
        blind.name, blind.titles, default_classifier(), org, dict(blind.departments or {})
    )
    assert figures.with_department == len(blind.titles)
    assert figures.department_accuracy >= 0.9
