"""Mail built on real journal titles (issue 18): every title was journalført, so every mail is
archival. Measured on the titles' eval split, which no training step reads, and on the held-out
municipality. Reads ../shared/corpus/real-titles/ and skips where it is absent."""

from __future__ import annotations

import pytest

from services.classifier.realeval import TitleEvaluation, evaluate_titles
from services.classifier.realtitles import DEFAULT_TITLES, RealTitle, read_titles
from services.classifier.received import default_classifier
from services.classifier.train import title_sets
from services.common.orgconfig import Organisation


@pytest.fixture(scope="module")
def titles() -> list[RealTitle]:
    if not DEFAULT_TITLES.is_file():
        pytest.skip(f"the real journal titles are not beside the repository ({DEFAULT_TITLES})")
    return list(read_titles(DEFAULT_TITLES))


def test_splits_keep_cases_and_the_held_out_municipality_apart(titles: list[RealTitle]) -> None:
    by_case: dict[tuple[str, str], set[str]] = {}
    for title in titles:
        by_case.setdefault((title.municipality, title.case_title), set()).add(title.split)
    assert all(len(splits) == 1 for (_, case), splits in by_case.items() if case)
    assert {t.split for t in titles if t.municipality == "Porsgrunn"} == {"heldout"}
    share = sum(t.split == "eval" for t in titles) / len(titles)
    assert 0.08 < share < 0.12


def _evaluate(titles: list[RealTitle], org: Organisation, index: int) -> TitleEvaluation:
    title_set = title_sets(titles)[index]
    return evaluate_titles(
        title_set.name,
        # The whole split: a fixed prefix sat on the threshold, where two titles at confidence
        # 0.42 decided the test.
        list(title_set.titles),
        default_classifier(),
        org,
        dict(title_set.departments) if title_set.departments else None,
    )


def test_eval_split(titles: list[RealTitle], org: Organisation) -> None:
    figures = _evaluate(titles, org, 0)
    assert figures.recall >= 0.98, figures.misses
    assert figures.department_accuracy >= 0.95


def test_held_out_municipality(titles: list[RealTitle], org: Organisation) -> None:
    # Porsgrunn: every department, never trained on: the goals for a municipality absent
    # from the data (arkivverdig recall 0.97, department 0.85; judged by hand in
    # training/heldout_municipality_departments.yaml).
    figures = _evaluate(titles, org, 1)
    assert figures.total == 42
    assert figures.recall >= 0.97, figures.misses
    assert figures.department_accuracy >= 0.85
