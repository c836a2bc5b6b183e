"""Acceptance on the labelled dev corpus (R9 classes, R2 sensitive content, R5 departments)."""

from __future__ import annotations

import pytest

from schemas.vocab import MailClass
from services.classifier.corpus import evaluate_corpus
from services.classifier.evaluation import Evaluation
from services.classifier.received import default_classifier
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return evaluate_corpus(SAMPLES, default_classifier(), load_organisation(DEFAULT_ORG_CONFIG))


def test_class_accuracy(evaluation: Evaluation) -> None:  # R9
    assert evaluation.total == 160
    assert evaluation.accuracy >= 0.93, evaluation.misclassified


def test_arkivverdig_recall_and_precision(evaluation: Evaluation) -> None:  # R9a
    figures = evaluation.per_class[MailClass.ARKIVVERDIG]
    assert figures.recall >= 0.97
    assert figures.precision >= 0.90


def test_privat_precision(evaluation: Evaluation) -> None:  # R9d: closing real work is worst
    assert evaluation.per_class[MailClass.PRIVAT].precision >= 0.97


def test_department_accuracy_on_shared_mailboxes(evaluation: Evaluation) -> None:  # R5, R8
    assert evaluation.shared_total == 141
    assert evaluation.shared_department_accuracy >= 0.90


def test_identity_numbers_all_found_and_none_invented(evaluation: Evaluation) -> None:  # R2
    figures = evaluation.identity_numbers
    assert figures.true_positives == 11
    assert figures.recall == 1.0
    assert figures.false_positives == 0


def test_evaluation_json_has_every_figure(evaluation: Evaluation) -> None:
    data = evaluation.as_dict()
    assert set(data["confusion"]) == {"arkivverdig", "offisiell", "privat"}
    assert sum(sum(row.values()) for row in data["confusion"].values()) == 160
    assert {
        "accuracy",
        "classes",
        "department_accuracy_shared",
        "sensitive",
        "identity_numbers",
    } <= set(data)
