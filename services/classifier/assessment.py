"""All the figures of one classifier (rules + model) in one pass: labelled written mail, mail built
on real titles (the eval split and the held-out municipality), a calibration table and the time
per mail. What `--eval`, the training report and `--learn` print.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from schemas.vocab import MailClass
from services.classifier.corpus import LABELS_FILE
from services.classifier.engine import Classification, Classifier
from services.classifier.evaluation import Evaluation, Label, evaluate, parse_labels
from services.classifier.mailbox import delivered_mailbox
from services.classifier.realeval import CalibrationRow, TitleEvaluation, calibration
from services.classifier.realeval import evaluate_titles as evaluate_title_mail
from services.classifier.realtitles import RealTitle
from services.common.mail import ParsedMail, parse_mail
from services.common.orgconfig import Organisation

TIMING_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class TitleSet:
    name: str
    titles: Sequence[RealTitle]
    departments: Mapping[str, str] | None = None  # title_key -> department, judged by hand
    # False for a set judged for departments only (not every letter in it is archival): it then
    # stays out of the calibration table and its recall is not reported.
    archival: bool = True


@dataclass(frozen=True, slots=True)
class Assessment:
    written: dict[str, Evaluation]
    titles: list[TitleEvaluation]
    calibration: list[CalibrationRow]
    ms_per_mail: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": {name: e.as_dict() for name, e in self.written.items()},
            "real_titles": {t.name: t.as_dict() for t in self.titles},
            "calibration": [
                {"confidence_at_least": r.threshold, "called": r.called, "arkivverdig": r.right}
                for r in self.calibration
            ],
            "ms_per_mail": round(self.ms_per_mail, 3),
        }


def _judge(
    directory: Path, classifier: Classifier, org: Organisation
) -> list[tuple[Label, Classification]]:
    labels_path = directory / LABELS_FILE
    labels = parse_labels(labels_path.read_text(encoding="utf-8").splitlines(), str(labels_path))
    pairs = []
    for label in labels:
        mail = parse_mail((directory / label.file).read_bytes())
        pairs.append((label, classifier.classify(mail, delivered_mailbox(mail, org), org)))
    return pairs


def ms_per_mail(mails: Sequence[ParsedMail], classifier: Classifier, org: Organisation) -> float:
    """Classification alone (the MIME parsed beforehand), best of a few rounds, on one core."""
    mailboxes = [delivered_mailbox(mail, org) for mail in mails]
    best = float("inf")
    for _ in range(TIMING_ROUNDS):
        start = time.perf_counter()
        for mail, mailbox in zip(mails, mailboxes, strict=True):
            classifier.classify(mail, mailbox, org)
        best = min(best, time.perf_counter() - start)
    return best * 1000 / len(mails) if mails else 0.0


def assess(
    classifier: Classifier,
    org: Organisation,
    written: Mapping[str, Path],
    title_sets: Sequence[TitleSet] = (),
    timing: Path | None = None,
    trained_on: frozenset[str] = frozenset(),
) -> Assessment:
    """The calibration table reads the written sets not in `trained_on` and the titles: a set the
    model learnt from would flatter it."""
    judged: list[tuple[MailClass, MailClass, float]] = []
    evaluations: dict[str, Evaluation] = {}
    for name, directory in written.items():
        pairs = _judge(directory, classifier, org)
        evaluations[name] = evaluate(pairs)
        if name not in trained_on:
            judged += [(label.mail_class, r.mail_class, r.confidence) for label, r in pairs]
    titles: list[TitleEvaluation] = []
    for title_set in title_sets:
        evaluation = evaluate_title_mail(
            title_set.name,
            title_set.titles,
            classifier,
            org,
            dict(title_set.departments) if title_set.departments else None,
            judged if title_set.archival else None,
        )
        titles.append(replace(evaluation, recall_judged=title_set.archival))
    timing_mails = (
        [parse_mail(p.read_bytes()) for p in sorted(timing.glob("*.eml"))] if timing else []
    )
    return Assessment(
        written=evaluations,
        titles=titles,
        calibration=calibration(judged),
        ms_per_mail=ms_per_mail(timing_mails, classifier, org),
    )
