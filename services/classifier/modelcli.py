"""The model side of `sakspost classify`: --explain, --train, --learn, --promote, and the
real-title figures --eval adds. Output only: the work is in train.py, learning.py, modelstore.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from schemas.vocab import MailClass
from services.classifier.assessment import Assessment
from services.classifier.clitexts import text
from services.classifier.corpus import eml_files
from services.classifier.corrections import Correction
from services.classifier.engine import Classifier
from services.classifier.learning import (
    MailReader,
    agreement,
    corrected_mail,
    correction_examples,
)
from services.classifier.mailbox import delivered_mailbox
from services.classifier.model import CLASS_HEAD, DEPARTMENT_HEAD
from services.classifier.modelstore import (
    load_current,
    model_path,
    promote,
    report_path,
)
from services.classifier.ruleset import default_rules
from services.classifier.train import Corpora, assess_model, build_model
from services.classifier.training import Settings
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation

EXPLAIN_TERMS = 8


def _terms(pairs: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{term} ({weight:+.2f})" for term, weight in pairs) or "–"


def explain(paths: Sequence[Path], classifier: Classifier, org: Organisation, out: Console) -> None:
    """Per mail: the decision, its reasons, and the model's strongest terms for the class and
    the department it chose. Printed for a person; never part of an event."""
    for path in eml_files(paths):
        mail = parse_mail(path.read_bytes())
        mailbox = delivered_mailbox(mail, org)
        result = classifier.classify(mail, mailbox, org)
        out.print(
            text(
                "explain_title",
                file=path,
                mail_class=result.mail_class.value,
                confidence=result.confidence,
                department=result.suggested_department,
            ),
            highlight=False,
        )
        out.print(text("explain_reasons", reasons=", ".join(result.reasons)), highlight=False)
        model = classifier.model
        vector = classifier.model_vector(classifier.view(mail, mailbox, org, None))
        if model is None or vector is None:
            out.print("  " + text("no_model"), highlight=False)
            continue
        scores = ", ".join(f"{c.value} {s:.2f}" for c, s in result.scores.items())
        probabilities = model.probabilities(CLASS_HEAD, vector)
        out.print(
            text(
                "explain_scores",
                scores=scores,
                model=", ".join(f"{k} {v:.2f}" for k, v in probabilities.items()),
            ),
            highlight=False,
        )
        label = result.mail_class.value
        strongest = model.strongest_terms(CLASS_HEAD, label, vector, EXPLAIN_TERMS)
        out.print(
            text("explain_class_terms", label=label, terms=_terms(strongest)), highlight=False
        )
        department = result.suggested_department
        if department in model.heads[DEPARTMENT_HEAD].labels:
            strongest = model.strongest_terms(DEPARTMENT_HEAD, department, vector, EXPLAIN_TERMS)
            out.print(
                text("explain_department_terms", label=department, terms=_terms(strongest)),
                highlight=False,
            )


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def print_titles(assessment: Assessment, out: Console) -> None:
    """What --eval adds: real-title recall and department, calibration, time per mail."""
    table = Table(title=text("titles_table"))
    for column in ("set", "mails", "recall", "department"):
        table.add_column(text(column), justify="left" if column == "set" else "right")
    for figures in assessment.titles:
        table.add_row(
            figures.name,
            str(figures.total),
            _percent(figures.recall) if figures.recall_judged else "–",
            f"{_percent(figures.department_accuracy)} ({figures.with_department})",
        )
    out.print(table)
    calibration = Table(title=text("calibration"))
    for column in ("threshold", "called", "right"):
        calibration.add_column(text(column), justify="right")
    for row in assessment.calibration:
        calibration.add_row(
            f"{row.threshold:.2f}", str(row.called), f"{row.right} ({_percent(row.precision)})"
        )
    out.print(calibration)
    out.print(text("ms_per_mail", ms=assessment.ms_per_mail), highlight=False)


def _figures(assessment: Assessment) -> dict[str, str]:
    rows: dict[str, str] = {}
    for name, e in assessment.written.items():
        rows[f"{name}: {text('fig_accuracy')}"] = _percent(e.accuracy)
        archival = e.per_class[MailClass.ARKIVVERDIG]
        rows[f"{name}: {text('fig_recall')}"] = _percent(archival.recall)
        rows[f"{name}: {text('fig_precision')}"] = _percent(archival.precision)
        rows[f"{name}: {text('fig_privat')}"] = _percent(e.per_class[MailClass.PRIVAT].precision)
        rows[f"{name}: {text('fig_department')}"] = _percent(e.shared_department_accuracy)
    for t in assessment.titles:
        if t.recall_judged:
            rows[f"{t.name}: {text('fig_recall')}"] = _percent(t.recall)
        rows[f"{t.name}: {text('fig_department')}"] = _percent(t.department_accuracy)
    rows[text("fig_ms")] = f"{assessment.ms_per_mail:.2f}"
    return rows


def print_comparison(
    current: tuple[str, Assessment] | None,
    candidate: tuple[str, Assessment],
    agreements: dict[str, tuple[int, int]],
    out: Console,
) -> None:
    table = Table(title=text("compare_title"))
    table.add_column(text("figure"))
    columns = [(text("candidate", version=candidate[0]), candidate[1])]
    if current is not None:
        columns.insert(0, (text("current", version=current[0]), current[1]))
    for title, _ in columns:
        table.add_column(title, justify="right")
    figures = [_figures(assessment) for _, assessment in columns]
    for key in figures[-1]:
        table.add_row(key, *(f.get(key, "–") for f in figures))
    if agreements:
        table.add_row(
            text("agreement"),
            *(f"{agreements[v][0]} / {agreements[v][1]}" for v in agreements),
        )
    out.print(table)


def train(corpora: Corpora, version: str | None, directory: Path, out: Console) -> None:
    model, assessment = build_model(corpora, Settings(), version, directory=directory)
    out.print(
        text(
            "trained",
            version=model.version,
            path=model_path(directory, model.version),
            report=report_path(directory, model.version),
        ),
        highlight=False,
    )
    current = load_current(directory)
    print_comparison(
        (current.version, assess_model(current, corpora)) if current else None,
        (model.version, assessment),
        {},
        out,
    )


def learn(
    corpora: Corpora,
    corrections: Sequence[Correction],
    read: MailReader,
    source: str,
    version: str | None,
    directory: Path,
    out: Console,
) -> None:
    """A candidate from the base data plus `corrections` (their mail read by `read`), printed
    beside the current model; `source` says where the mail came from."""
    corrected = corrected_mail(corrections, read)
    settings = Settings()
    rules_only = Classifier(default_rules())
    extra = correction_examples(corrected, rules_only, corpora.org, settings)
    out.print(
        text(
            "corrections_read",
            count=len(corrections),
            used=len(corrected),
            mail=source,
            held=len(corrected) - len(extra),
        ),
        highlight=False,
    )
    candidate, assessment = build_model(corpora, settings, version, extra, directory)
    current = load_current(directory)
    agreements: dict[str, tuple[int, int]] = {}
    if current is not None:
        agreements[current.version] = agreement(
            corrected, Classifier(default_rules(), current), corpora.org
        )
    agreements[candidate.version] = agreement(
        corrected, Classifier(default_rules(), candidate), corpora.org
    )
    print_comparison(
        (current.version, assess_model(current, corpora)) if current else None,
        (candidate.version, assessment),
        agreements,
        out,
    )
    out.print(text("promote_hint", version=candidate.version), highlight=False)


def promote_model(version: str, by: str, directory: Path, out: Console) -> None:
    promotion = promote(directory, version, by, datetime.now(UTC))
    out.print(
        text("promoted", version=promotion.version, by=promotion.by, at=promotion.at),
        highlight=False,
    )


def model_line(version: str | None) -> str:
    """The model the figures were measured with (none where `--models` holds no current one)."""
    return text("model_in_use", version=version) if version else text("no_model")
