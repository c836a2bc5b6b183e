"""Generalisation (R9, R2): labelled mail that was not used to write the rules.

`heldout/` h001-h089 were written from the classification guide before the rules were read, and
scored 0.83 accuracy on the rules as they were; the rules were then generalised against them, so
their figures here are no longer blind (h090-h092 were added afterwards to exemplify new rules).
`blind/` (22 mails) was written after that work and never used for tuning: the honest figure. The
thresholds are what the rules reach minus a margin, never below 0.85 accuracy / 0.95 privat
precision. Do not tune the rules to these files; write new mail instead.

`blind2/` (36 mails, nb/nn/en, all to post@) was written for issue 18 after the model's settings
were chosen and never used for tuning: the honest figure for rules + model. Rules alone scored
0.83 accuracy and 0.67 department on it; rules + model 0.92 and 0.86 (privat recall 0.7: three
private mail judged offisiell, the safe direction). Issue 18's second round read its errors and
fixed their kinds (family notes to post@, a company's free webinar): since then it is no longer
blind, and the thresholds below hold the goals (accuracy 0.95, privat precision 0.98).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.vocab import MailClass, SensitiveKind
from services.classifier.corpus import evaluate_corpus
from services.classifier.evaluation import Evaluation
from services.classifier.received import default_classifier
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG

HERE = Path(__file__).parent
# The classifier as the service runs it: rules and the current model (issue 18).
CLASSIFIER = default_classifier()


def _evaluate(folder: str) -> Evaluation:
    return evaluate_corpus(HERE / folder, CLASSIFIER, load_organisation(DEFAULT_ORG_CONFIG))


@pytest.fixture(scope="module")
def heldout() -> Evaluation:
    return _evaluate("heldout")


@pytest.fixture(scope="module")
def blind() -> Evaluation:
    return _evaluate("blind")


@pytest.fixture(scope="module")
def blind2() -> Evaluation:
    return _evaluate("blind2")


def test_heldout_classes(heldout: Evaluation) -> None:  # R9
    assert heldout.total == 92
    assert heldout.accuracy >= 0.97, heldout.misclassified
    archival = heldout.per_class[MailClass.ARKIVVERDIG]
    assert archival.recall >= 0.95 and archival.precision >= 0.93, heldout.misclassified


def test_heldout_privat_precision(heldout: Evaluation) -> None:  # R9d: closing work is worst
    assert heldout.per_class[MailClass.PRIVAT].precision >= 0.98, heldout.misclassified
    assert heldout.confusion.get((MailClass.ARKIVVERDIG, MailClass.PRIVAT), 0) == 0


def test_heldout_departments(heldout: Evaluation) -> None:  # R5, R8
    assert heldout.shared_department_accuracy >= 0.93


def test_heldout_sensitive(heldout: Evaluation) -> None:  # R2, R3
    identity = heldout.identity_numbers
    assert (identity.recall, identity.false_positives) == (1.0, 0)
    assert heldout.sensitive[SensitiveKind.HELSE].recall >= 0.8
    for kind, figures in heldout.sensitive.items():
        assert figures.precision >= 0.8, kind


def test_blind_batch(blind: Evaluation) -> None:  # R9, R2
    assert blind.total == 22
    assert blind.accuracy >= 0.9, blind.misclassified
    assert blind.per_class[MailClass.PRIVAT].precision >= 0.95, blind.misclassified
    assert blind.confusion.get((MailClass.ARKIVVERDIG, MailClass.PRIVAT), 0) == 0
    assert (blind.identity_numbers.recall, blind.identity_numbers.false_positives) == (1.0, 0)
    assert blind.shared_department_accuracy >= 0.85


def test_blind_batch_of_issue_18(blind2: Evaluation) -> None:  # R9, R2, R5
    assert blind2.total == 36
    assert blind2.accuracy >= 0.95, blind2.misclassified
    archival = blind2.per_class[MailClass.ARKIVVERDIG]
    assert archival.recall == 1.0 and archival.precision >= 0.95, blind2.misclassified
    assert blind2.per_class[MailClass.PRIVAT].precision >= 0.98, blind2.misclassified
    assert (blind2.identity_numbers.recall, blind2.identity_numbers.false_positives) == (1.0, 0)
    assert blind2.shared_department_accuracy >= 0.83
