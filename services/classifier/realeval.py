"""Measures the classifier on mail built from real journal titles (all archival) sent to post@:
arkivverdig recall and department accuracy, and a calibration table. Pure apart from the
classifier it is handed; the caller reads the titles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.vocab import MailClass
from services.classifier.corpus import classify_mime
from services.classifier.engine import Classifier
from services.classifier.realtitles import RealTitle, title_key, title_mail
from services.common.orgconfig import Organisation

CALIBRATION_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


@dataclass(frozen=True, slots=True)
class TitleEvaluation:
    name: str
    total: int
    archival: int  # classified arkivverdig
    with_department: int  # titles whose unit names one of Hå's departments
    department_correct: int
    misses: tuple[str, ...]  # a few titles classified otherwise, for reading
    recall_judged: bool = True  # False where not every title is archival (departments only)

    @property
    def recall(self) -> float:
        return self.archival / self.total if self.total else 0.0

    @property
    def department_accuracy(self) -> float:
        return self.department_correct / self.with_department if self.with_department else 0.0

    def as_dict(self) -> dict[str, Any]:
        figures: dict[str, Any] = {"mails": self.total}
        if self.recall_judged:
            figures["arkivverdig_recall"] = round(self.recall, 4)
        figures["department_mails"] = self.with_department
        figures["department_accuracy"] = round(self.department_accuracy, 4)
        return figures


def evaluate_titles(
    name: str,
    titles: Sequence[RealTitle],
    classifier: Classifier,
    org: Organisation,
    departments: dict[str, str] | None = None,
    judged: list[tuple[MailClass, MailClass, float]] | None = None,
) -> TitleEvaluation:
    """`departments` (title_key -> department) replaces the unit mapping where a person judged
    it (the held-out municipality's units are not Hå's departments one to one). Each judgement
    is also appended to `judged` (labelled, classified, confidence) for the calibration table."""
    archival = correct = with_department = 0
    misses: list[str] = []
    for number, title in enumerate(titles):
        result = classify_mime(title_mail(title, number), classifier, org)
        if judged is not None:
            judged.append((MailClass.ARKIVVERDIG, result.mail_class, result.confidence))
        if result.mail_class is MailClass.ARKIVVERDIG:
            archival += 1
        elif len(misses) < 20:
            misses.append(f"{title.title} -> {result.mail_class.value}")
        wanted = (departments or {}).get(title_key(title.title), title.department)
        if wanted is not None:
            with_department += 1
            correct += result.suggested_department == wanted
    return TitleEvaluation(name, len(titles), archival, with_department, correct, tuple(misses))


@dataclass(frozen=True, slots=True)
class CalibrationRow:
    threshold: float
    called: int  # mail called arkivverdig with confidence >= threshold
    right: int  # of which labelled arkivverdig

    @property
    def precision(self) -> float:
        return self.right / self.called if self.called else 1.0


def calibration(
    judged: Iterable[tuple[MailClass, MailClass, float]],
    thresholds: Sequence[float] = CALIBRATION_THRESHOLDS,
) -> list[CalibrationRow]:
    """From (labelled class, classified class, confidence): of mail called arkivverdig with
    confidence >= c, how many were."""
    called = [(label, conf) for label, result, conf in judged if result is MailClass.ARKIVVERDIG]
    return [
        CalibrationRow(
            c,
            sum(1 for _, conf in called if conf >= c),
            sum(1 for label, conf in called if conf >= c and label is MailClass.ARKIVVERDIG),
        )
        for c in thresholds
    ]
