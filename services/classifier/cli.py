"""`sakspost classify`: classify .eml files without a server, or evaluate a labelled corpus.

    sakspost classify PATH... [--json]
    sakspost classify --eval DIR [--json]

Human output is nynorsk; `--json` prints one JSON object per line (per mail, or the evaluation).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from schemas.vocab import MailClass
from services.classifier.corpus import LABELS_FILE, classify_file, eml_files, evaluate_corpus
from services.classifier.engine import Classification, Classifier
from services.classifier.evaluation import Evaluation, LabelError
from services.classifier.ruleset import DEFAULT_RULES_PATH, RulesError, load_rules
from services.common.orgconfig import Organisation, OrgConfigError, load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG

ORG_ENV = "SAKSPOST_ORG_CONFIG"

CLASS_NAMES = {
    MailClass.ARKIVVERDIG: "arkivverdig",
    MailClass.OFFISIELL: "offisiell",
    MailClass.PRIVAT: "privat",
}

classify_app = typer.Typer(
    name="classify",
    help="Klassifiser e-post (.eml) som arkivverdig, offisiell eller privat, utan tenar.",
    invoke_without_command=True,
    no_args_is_help=True,
    subcommand_metavar="",
    # Options may follow the paths (`classify a.eml --json`) even when mounted as a sub-app.
    context_settings={"allow_interspersed_args": True},
    add_completion=False,
)


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]Feil:[/red] {message}", highlight=False)
    return typer.Exit(code=2)


def _load(
    org_path: Path | None, rules_path: Path, console: Console
) -> tuple[Organisation, Classifier]:
    path = org_path or Path(os.environ.get(ORG_ENV, str(DEFAULT_ORG_CONFIG)))
    try:
        return load_organisation(path), Classifier(load_rules(rules_path))
    except (OrgConfigError, RulesError) as error:
        raise _fail(str(error)) from None


def _result_json(file: str, result: Classification) -> str:
    return json.dumps(
        {
            "file": file,
            "mail_class": result.mail_class.value,
            "confidence": result.confidence,
            "sensitive": [k.value for k in result.sensitive],
            "topics": list(result.topics),
            "suggested_department": result.suggested_department,
            "reasons": list(result.reasons),
        },
        ensure_ascii=False,
    )


def _results_table(rows: list[tuple[str, Classification]]) -> Table:
    table = Table(title="Klassifisering", show_lines=False)
    for column in ("Fil", "Klasse", "Sikkerheit", "Avdeling", "Emne", "Sensitivt", "Grunnar"):
        table.add_column(column, overflow="fold")
    for file, result in rows:
        table.add_row(
            file,
            CLASS_NAMES[result.mail_class],
            f"{result.confidence:.2f}",
            result.suggested_department,
            ", ".join(result.topics) or "–",
            ", ".join(k.value for k in result.sensitive) or "–",
            ", ".join(result.reasons),
        )
    return table


def _classify_paths(
    paths: list[Path], as_json: bool, classifier: Classifier, org: Organisation, console: Console
) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _fail(f"finn ikkje {', '.join(missing)}")
    files = eml_files(paths)
    if not files:
        raise _fail("fann ingen .eml-filer")
    rows: list[tuple[str, Classification]] = []
    for path in files:
        try:
            result = classify_file(path, classifier, org)
        except OSError as error:
            raise _fail(f"kan ikkje lese {path} ({error.strerror})") from None
        if as_json:
            typer.echo(_result_json(str(path), result))
        rows.append((str(path), result))
    if not as_json:
        console.print(_results_table(rows))


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _print_evaluation(evaluation: Evaluation, console: Console) -> None:
    confusion = Table(title="Forvekslingsmatrise (rad: fasit, kolonne: klassifisert)")
    confusion.add_column("Fasit")
    for predicted in MailClass:
        confusion.add_column(CLASS_NAMES[predicted], justify="right")
    for actual in MailClass:
        confusion.add_row(
            CLASS_NAMES[actual],
            *(str(evaluation.confusion.get((actual, p), 0)) for p in MailClass),
        )
    console.print(confusion)
    classes = Table(title="Presisjon og treffprosent per klasse")
    for column in ("Klasse", "Presisjon", "Treffprosent (recall)"):
        classes.add_column(column, justify="right" if column != "Klasse" else "left")
    for mail_class, figures in evaluation.per_class.items():
        classes.add_row(
            CLASS_NAMES[mail_class], _percent(figures.precision), _percent(figures.recall)
        )
    console.print(classes)
    sensitive = Table(title="Sensitivt innhald")
    for column in ("Slag", "Presisjon", "Treffprosent", "Rett", "Falske funn", "Oversett"):
        sensitive.add_column(column, justify="left" if column == "Slag" else "right")
    rows = [("identitetsnummer (alle)", evaluation.identity_numbers)]
    rows += [(kind.value, figures) for kind, figures in evaluation.sensitive.items()]
    for name, figures in rows:
        sensitive.add_row(
            name,
            _percent(figures.precision),
            _percent(figures.recall),
            str(figures.true_positives),
            str(figures.false_positives),
            str(figures.false_negatives),
        )
    console.print(sensitive)
    console.print(
        f"Treffsikkerheit: {_percent(evaluation.accuracy)} av {evaluation.total} e-postar"
    )
    console.print(
        f"Rett avdeling: {_percent(evaluation.department_accuracy)} i alt, "
        f"{_percent(evaluation.shared_department_accuracy)} for e-post til felles postkassar"
    )
    for line in evaluation.misclassified:
        console.print(f"  feil klasse: {line}")


def _evaluate(
    directory: Path, as_json: bool, classifier: Classifier, org: Organisation, console: Console
) -> None:
    if not (directory / LABELS_FILE).is_file():
        raise _fail(f"finn ikkje {directory / LABELS_FILE}")
    try:
        evaluation = evaluate_corpus(directory, classifier, org)
    except LabelError as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"kan ikkje lese {error.filename} ({error.strerror})") from None
    if as_json:
        typer.echo(json.dumps(evaluation.as_dict(), ensure_ascii=False))
    else:
        _print_evaluation(evaluation, console)


@classify_app.callback()
def classify(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help=".eml-filer eller mapper med .eml-filer", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Éin JSON-linje per e-post")] = False,
    eval_dir: Annotated[
        Path | None,
        typer.Option("--eval", help="Mappe med labels.jsonl: mål klassifiseringa mot fasiten"),
    ] = None,
    org_path: Annotated[
        Path | None,
        typer.Option(
            "--org", help=f"Organisasjonsfila (standard: ${ORG_ENV} eller config/ha-kommune.yaml)"
        ),
    ] = None,
    rules_path: Annotated[
        Path, typer.Option("--rules", help="Regelfila (for å prøve ut endringar)")
    ] = DEFAULT_RULES_PATH,
) -> None:
    """Klassifiser e-post, eller mål klassifiseringa mot ein merka korpus (--eval)."""
    console = Console()
    if eval_dir is not None and paths:
        raise _fail("bruk anten filer eller --eval, ikkje begge")
    if eval_dir is None and not paths:
        raise _fail("gje minst éi .eml-fil eller mappe, eller --eval MAPPE")
    org, classifier = _load(org_path, rules_path, console)
    if eval_dir is not None:
        _evaluate(eval_dir, as_json, classifier, org, console)
    else:
        _classify_paths(paths or [], as_json, classifier, org, console)
