"""Classifying .eml files from disk: the I/O around the pure classifier, for the CLI, the
evaluation test and the benchmark."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from services.classifier.engine import Classification, Classifier
from services.classifier.evaluation import Evaluation, evaluate, parse_labels
from services.classifier.mailbox import delivered_mailbox
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation

LABELS_FILE = "labels.jsonl"


def eml_files(paths: Iterable[Path]) -> list[Path]:
    """The .eml files named, with folders expanded (sorted, recursively); paths keep their form."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.eml") if p.is_file()))
        else:
            found.append(path)
    return found


def classify_mime(raw: bytes, classifier: Classifier, org: Organisation) -> Classification:
    mail = parse_mail(raw)
    return classifier.classify(mail, delivered_mailbox(mail, org), org)


def classify_file(path: Path, classifier: Classifier, org: Organisation) -> Classification:
    return classify_mime(path.read_bytes(), classifier, org)


def evaluate_corpus(directory: Path, classifier: Classifier, org: Organisation) -> Evaluation:
    """Classify every labelled mail of `directory/labels.jsonl` and measure the result."""
    labels_path = directory / LABELS_FILE
    labels = parse_labels(labels_path.read_text(encoding="utf-8").splitlines(), str(labels_path))
    return evaluate(
        (label, classify_file(directory / label.file, classifier, org)) for label in labels
    )
