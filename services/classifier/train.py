"""One command builds the model from data the repository has or reads from `../shared/`:

    python -m services.classifier.train [--version V]     (the same as `sakspost classify --train`)

It writes `models/<version>.npz` and the training report `models/<version>.md` (data, settings and
every figure), and never makes the model current: `sakspost classify --promote` does, with who and
when. The same data and settings give the same weights and the same data hash in the version.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from schemas.vocab import MailClass
from services.classifier.assessment import Assessment, TitleSet, assess
from services.classifier.engine import Classifier
from services.classifier.model import TextModel, save_model
from services.classifier.modelstore import DEFAULT_MODEL_DIR, model_path, report_path
from services.classifier.realtitles import DEFAULT_TITLES, RealTitle, read_titles, title_key
from services.classifier.ruleset import default_rules
from services.classifier.training import (
    Example,
    Settings,
    data_hash,
    department_title_examples,
    fit,
    labelled_mail_examples,
    task_examples,
    title_examples,
    unit_examples,
    written_examples,
)
from services.classifier.units import DEFAULT_UNITS, labelled_units
from services.common.orgconfig import Organisation, load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT

SAMPLES = REPO_ROOT / "samples"
HELD_OUT_DEPARTMENTS = (
    Path(__file__).with_name("training") / "heldout_municipality_departments.yaml"
)
# Postliste titles written and judged apart from the training data and never tuned on: the
# first before the department work, the second by a writer who never saw the training data.
BLIND_DEPARTMENTS = REPO_ROOT / "tests" / "classifier" / "department_blind.yaml"
BLIND_POSTLISTE = REPO_ROOT / "tests" / "classifier" / "department_blind_postliste.yaml"
BLIND_DEPARTMENT_SETS = {
    "department blind (written)": BLIND_DEPARTMENTS,
    "department blind postliste (written apart)": BLIND_POSTLISTE,
}
# Written mail that no training step reads (tests/classifier): what the report measures.
TRAINED_ON = "samples (trained on)"
WRITTEN_SETS = {
    TRAINED_ON: SAMPLES,
    "heldout": REPO_ROOT / "tests" / "classifier" / "heldout",
    "blind": REPO_ROOT / "tests" / "classifier" / "blind",
    "blind2": REPO_ROOT / "tests" / "classifier" / "blind2",
}


class TrainingError(RuntimeError):
    """The data a model needs is missing; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Corpora:
    org: Organisation
    titles: list[RealTitle]
    units: list[tuple[str, str]]  # (real unit name, Hå department)


def load_corpora(org_path: Path = DEFAULT_ORG_CONFIG, titles: Path = DEFAULT_TITLES) -> Corpora:
    if not titles.is_file():
        raise TrainingError(
            f"finn ikkje dei verkelege journaltitlane i {titles} (../shared/corpus/real-titles/)"
        )
    units = titles.with_name(DEFAULT_UNITS.name)
    if not units.is_file():
        raise TrainingError(f"finn ikkje dei verkelege einingsnamna i {units}")
    return Corpora(
        load_organisation(org_path), list(read_titles(titles)), list(labelled_units(units))
    )


def base_examples(corpora: Corpora, settings: Settings) -> list[Example]:
    rules_only = Classifier(default_rules())
    return [
        *title_examples(corpora.titles, settings),
        *labelled_mail_examples(SAMPLES, rules_only, corpora.org, "samples"),
        *written_examples(),
        *department_title_examples(settings),
        *task_examples(corpora.org, settings),
        *unit_examples(corpora.units, settings),
    ]


def blind_department_titles(name: str = "department blind (written)") -> TitleSet:
    """A written blind check of department suggestion, as titles with a judged department."""
    path = BLIND_DEPARTMENT_SETS[name]
    entries: list[dict[str, str]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    titles = [
        RealTitle("blind", e["title"], "", "", ("person", "organisation")[n % 2])
        for n, e in enumerate(entries)
    ]
    judged = {title_key(e["title"]): e["department"] for e in entries}
    return TitleSet(name, titles, judged, archival=False)


def title_sets(titles: Sequence[RealTitle]) -> list[TitleSet]:
    """The titles' eval split, the held-out municipality and the written blind department checks:
    never trained or tuned on."""
    judged: Mapping[str, str] = yaml.safe_load(HELD_OUT_DEPARTMENTS.read_text(encoding="utf-8"))
    return [
        TitleSet("eval split (Kristiansand)", [t for t in titles if t.split == "eval"]),
        TitleSet(
            "held-out municipality (Porsgrunn)",
            [t for t in titles if t.split == "heldout"],
            judged,
        ),
        *(blind_department_titles(name) for name in BLIND_DEPARTMENT_SETS),
    ]


def assess_model(model: TextModel | None, corpora: Corpora) -> Assessment:
    written = {name: path for name, path in WRITTEN_SETS.items() if path.is_dir()}
    return assess(
        Classifier(default_rules(), model),
        corpora.org,
        written,
        title_sets(corpora.titles),
        timing=SAMPLES,
        trained_on=frozenset({TRAINED_ON}),
    )


def default_version(examples: Sequence[Example], settings: Settings, today: datetime) -> str:
    return f"{today:%Y.%m.%d}-{data_hash(examples, settings)}"


def _percent(value: float) -> str:
    return f"{value:.3f}"


def report_markdown(model: TextModel, assessment: Assessment) -> str:
    """The training report committed beside the model."""
    lines = [
        f"# Model {model.version}",
        "",
        "Built by `python -m services.classifier.train` (`sakspost classify --train`).",
        f"Data hash {model.meta['data_hash']}; {len(model.terms)} terms; settings:",
        "",
        *(f"- {name}: {value}" for name, value in model.meta["settings"].items()),
        "",
        "## Training examples",
        "",
        "| source/class | examples |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in model.meta["examples"]["classes"].items()),
        "",
        "| department | examples |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in model.meta["examples"]["departments"].items()),
        "",
        "## Written mail (rules + this model)",
        "",
        "| set | mails | accuracy | arkivverdig recall | arkivverdig precision "
        "| privat precision | department (shared) | identity numbers recall / false |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, e in assessment.written.items():
        a = e.per_class
        lines.append(
            f"| {name} | {e.total} | {_percent(e.accuracy)} "
            f"| {_percent(a[MailClass.ARKIVVERDIG].recall)} "
            f"| {_percent(a[MailClass.ARKIVVERDIG].precision)} "
            f"| {_percent(a[MailClass.PRIVAT].precision)} "
            f"| {_percent(e.shared_department_accuracy)} "
            f"| {_percent(e.identity_numbers.recall)} / {e.identity_numbers.false_positives} |"
        )
    lines += [
        "",
        "## Mail built on real journal titles (to post@, all archival)",
        "",
        "| set | mails | arkivverdig recall | department accuracy (mails with a department) |",
        "|---|---|---|---|",
        *(
            f"| {t.name} | {t.total} | {_percent(t.recall) if t.recall_judged else '–'} "
            f"| {_percent(t.department_accuracy)} ({t.with_department}) |"
            for t in assessment.titles
        ),
        "",
        "## Calibration (all sets above except samples/)",
        "",
        "| called arkivverdig with confidence ≥ | mails | of which arkivverdig |",
        "|---|---|---|",
        *(
            f"| {r.threshold} | {r.called} | {r.right} ({_percent(r.precision)}) |"
            for r in assessment.calibration
        ),
        "",
        f"Classification time: {assessment.ms_per_mail:.2f} ms per mail (samples/, one core, "
        "MIME parsed beforehand).",
        "",
    ]
    return "\n".join(lines)


def build_model(
    corpora: Corpora,
    settings: Settings,
    version: str | None = None,
    extra: Sequence[Example] = (),
    directory: Path = DEFAULT_MODEL_DIR,
) -> tuple[TextModel, Assessment]:
    """Fit on the base data (and `extra`, e.g. corrections), save the model and its report."""
    examples = [*base_examples(corpora, settings), *extra]
    name = version or default_version(examples, settings, datetime.now(UTC))
    model = fit(examples, name, settings)
    save_model(model_path(directory, name), name, model.terms, model.idf, model.heads, model.meta)
    assessment = assess_model(model, corpora)
    report_path(directory, name).write_text(report_markdown(model, assessment), encoding="utf-8")
    return model, assessment


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    version = args[args.index("--version") + 1] if "--version" in args else None
    try:
        model, _ = build_model(load_corpora(), Settings(), version)
    except TrainingError as error:
        print(f"Feil: {error}", file=sys.stderr)
        return 2
    print(f"modell {model.version}: {model_path(DEFAULT_MODEL_DIR, model.version)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
