"""Measures the classifier against a labelled corpus (`labels.jsonl`): the figures of the issue's
acceptance (accuracy, per-class precision and recall, department accuracy on shared-mailbox mail,
sensitive-detection precision and recall). Pure: the caller reads the files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from schemas.vocab import MailClass, SensitiveKind
from services.classifier.engine import Classification

IDENTITY_KINDS = frozenset(
    {SensitiveKind.FODSELSNUMMER, SensitiveKind.DNUMMER, SensitiveKind.HNUMMER}
)


class LabelError(ValueError):
    """A line of labels.jsonl cannot be used; the message names the line."""


@dataclass(frozen=True, slots=True)
class Label:
    file: str
    mail_class: MailClass
    department: str
    shared_mailbox: bool
    sensitive: frozenset[SensitiveKind]


def parse_labels(lines: Iterable[str], source: str = "labels.jsonl") -> list[Label]:
    labels: list[Label] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            labels.append(
                Label(
                    file=str(data["file"]),
                    mail_class=MailClass(data["class"]),
                    department=str(data["department"]),
                    shared_mailbox=data.get("mailbox_kind", "shared") == "shared",
                    sensitive=frozenset(SensitiveKind(k) for k in data.get("sensitive", [])),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise LabelError(f"{source}:{number}: not a valid label ({error})") from None
    return labels


@dataclass(frozen=True, slots=True)
class PrecisionRecall:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
        }


def _count(pairs: Iterable[tuple[bool, bool]]) -> PrecisionRecall:
    tally = Counter(pairs)
    return PrecisionRecall(tally[(True, True)], tally[(False, True)], tally[(True, False)])


@dataclass(frozen=True, slots=True)
class Evaluation:
    total: int
    confusion: dict[tuple[MailClass, MailClass], int]  # (labelled, classified) -> count
    department_correct: int
    shared_total: int
    shared_department_correct: int
    per_class: dict[MailClass, PrecisionRecall]
    sensitive: dict[SensitiveKind, PrecisionRecall]
    identity_numbers: PrecisionRecall
    misclassified: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        correct = sum(n for (actual, predicted), n in self.confusion.items() if actual == predicted)
        return correct / self.total if self.total else 0.0

    @property
    def department_accuracy(self) -> float:
        return self.department_correct / self.total if self.total else 0.0

    @property
    def shared_department_accuracy(self) -> float:
        return self.shared_department_correct / self.shared_total if self.shared_total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mails": self.total,
            "accuracy": round(self.accuracy, 4),
            "confusion": {
                actual.value: {p.value: self.confusion.get((actual, p), 0) for p in MailClass}
                for actual in MailClass
            },
            "classes": {c.value: pr.as_dict() for c, pr in self.per_class.items()},
            "department_accuracy": round(self.department_accuracy, 4),
            "department_accuracy_shared": round(self.shared_department_accuracy, 4),
            "sensitive": {k.value: pr.as_dict() for k, pr in self.sensitive.items()},
            "identity_numbers": self.identity_numbers.as_dict(),
            "misclassified": self.misclassified,
        }


def evaluate(results: Iterable[tuple[Label, Classification]]) -> Evaluation:
    pairs = list(results)
    confusion = Counter((label.mail_class, result.mail_class) for label, result in pairs)
    per_class = {
        c: _count((label.mail_class is c, result.mail_class is c) for label, result in pairs)
        for c in MailClass
    }
    sensitive = {
        kind: _count((kind in label.sensitive, kind in result.sensitive) for label, result in pairs)
        for kind in SensitiveKind
    }
    identity = Counter[tuple[bool, bool]]()
    for label, result in pairs:
        for kind in IDENTITY_KINDS:
            identity[(kind in label.sensitive, kind in result.sensitive)] += 1
    department_hits = [label.department == result.suggested_department for label, result in pairs]
    shared_hits = [
        label.department == result.suggested_department
        for label, result in pairs
        if label.shared_mailbox
    ]
    return Evaluation(
        total=len(pairs),
        confusion=dict(confusion),
        department_correct=sum(department_hits),
        shared_total=len(shared_hits),
        shared_department_correct=sum(shared_hits),
        per_class=per_class,
        sensitive=sensitive,
        identity_numbers=PrecisionRecall(
            identity[(True, True)], identity[(False, True)], identity[(True, False)]
        ),
        misclassified=[
            f"{label.file}: {label.mail_class.value} -> {result.mail_class.value}"
            for label, result in pairs
            if label.mail_class is not result.mail_class
        ],
    )
