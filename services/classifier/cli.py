"""`sakspost classify`: classify .eml files without a server, evaluate, and manage the model.

    sakspost classify PATH... [--json | --explain]
    sakspost classify --eval DIR [--json] [--titles FILE]
    sakspost classify --train [--version V]
    sakspost classify --learn --corrections FILE.jsonl --mail DIR [--version V]
    sakspost classify --promote VERSION --by STAFF-ID

Human output is nynorsk (the model commands also bokmål and English: `sakspost --lang`);
`--json` prints one JSON object per line (per mail, or the evaluation).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from schemas.vocab import MailClass
from services.classifier import modelcli
from services.classifier.assessment import assess
from services.classifier.clitexts import text
from services.classifier.corpus import LABELS_FILE, classify_file, eml_files, evaluate_corpus
from services.classifier.corrections import parse_corrections
from services.classifier.engine import Classification, Classifier
from services.classifier.evaluation import Evaluation, LabelError
from services.classifier.learning import mail_folder
from services.classifier.learnsource import read_stored_corrections
from services.classifier.model import ModelError
from services.classifier.modelstore import DEFAULT_MODEL_DIR, load_current
from services.classifier.realtitles import DEFAULT_TITLES, read_titles
from services.classifier.ruleset import DEFAULT_RULES_PATH, RulesError, load_rules
from services.classifier.train import Corpora, TrainingError, load_corpora, title_sets
from services.common.connect import NatsUnavailable
from services.common.orgconfig import Organisation, OrgConfigError, load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, Settings, SettingsError, load_settings

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
    Console(stderr=True).print(f"[red]Feil:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _org_path(org_path: Path | None) -> Path:
    return org_path or Path(os.environ.get(ORG_ENV, str(DEFAULT_ORG_CONFIG)))


def _load(org_path: Path | None, rules_path: Path, models: Path) -> tuple[Organisation, Classifier]:
    """The organisation and the classifier as the service runs it: rules and the current model."""
    try:
        return load_organisation(_org_path(org_path)), Classifier(
            load_rules(rules_path), load_current(models)
        )
    except (OrgConfigError, RulesError, ModelError) as error:
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
            "rules_version": result.rules_version,
            "model_version": result.model_version,
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
    directory: Path,
    as_json: bool,
    classifier: Classifier,
    org: Organisation,
    titles: Path,
    console: Console,
) -> None:
    if not (directory / LABELS_FILE).is_file():
        raise _fail(f"finn ikkje {directory / LABELS_FILE}")
    try:
        evaluation = evaluate_corpus(directory, classifier, org)
    except LabelError as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"kan ikkje lese {error.filename} ({error.strerror})") from None
    # The real titles: their eval split and the held-out municipality, which no training read.
    # The calibration table reads the labelled mail of DIR (the only negatives) and the titles.
    real = (
        assess(
            classifier,
            org,
            {str(directory): directory},
            title_sets(list(read_titles(titles))),
            timing=directory,
        )
        if titles.is_file()
        else None
    )
    if as_json:
        data = evaluation.as_dict()
        if real is not None:
            data |= {k: v for k, v in real.as_dict().items() if k != "written"}
        data["model_version"] = classifier.model_version
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    _print_evaluation(evaluation, console)
    console.print(modelcli.model_line(classifier.model_version), highlight=False)
    if real is None:
        console.print(text("no_titles", path=titles), highlight=False)
    else:
        modelcli.print_titles(real, console)


def _learn(
    corpora: Corpora,
    corrections_file: Path | None,
    mail_dir: Path | None,
    version: str | None,
    models: Path,
    console: Console,
) -> None:
    """From an export (`--corrections` with `--mail`), else from where the service keeps them."""
    if (corrections_file is None) != (mail_dir is None):
        raise _fail(text("learn_needs"))
    if corrections_file is not None and mail_dir is not None:
        lines = corrections_file.read_text(encoding="utf-8").splitlines()
        corrections = parse_corrections(lines, str(corrections_file))
        read, source = mail_folder(mail_dir), str(mail_dir)
    else:
        settings = _nats_settings()
        try:
            stored = asyncio.run(read_stored_corrections(settings))
        except NatsUnavailable as error:
            raise _fail(str(error)) from None
        corrections, read, source = stored.corrections, stored.reader(), text("mime_store")
    modelcli.learn(corpora, corrections, read, source, version, models, console)


def _nats_settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise _fail(str(error)) from None


def _corpora(org_path: Path | None, titles: Path) -> Corpora:
    try:
        return load_corpora(_org_path(org_path), titles)
    except (TrainingError, OrgConfigError) as error:
        raise _fail(str(error)) from None


def _model_commands(
    console: Console,
    org_path: Path | None,
    titles: Path,
    models: Path,
    train: bool,
    learn: bool,
    promote: str | None,
    by: str | None,
    version: str | None,
    corrections: Path | None,
    mail_dir: Path | None,
) -> None:
    try:
        if promote is not None:
            if not by:
                raise _fail(text("by_required"))
            modelcli.promote_model(promote, by, models, console)
        elif learn:
            _learn(_corpora(org_path, titles), corrections, mail_dir, version, models, console)
        elif train:
            modelcli.train(_corpora(org_path, titles), version, models, console)
    except (ModelError, ValueError) as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"kan ikkje lese {error.filename} ({error.strerror})") from None


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
    explain: Annotated[
        bool, typer.Option("--explain", help="Vis grunnane og modellen sine sterkaste ord")
    ] = False,
    train: Annotated[
        bool, typer.Option("--train", help="Bygg ein ny modell frå grunndata (tek ikkje i bruk)")
    ] = False,
    learn: Annotated[
        bool,
        typer.Option(
            "--learn", help="Bygg ein kandidat med rettingane, vist ved sida av gjeldande"
        ),
    ] = False,
    promote: Annotated[
        str | None, typer.Option("--promote", help="Ta modellen VERSJON i bruk (med --by)")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Tilsett-ID til den som avgjer")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Versjon for den nye modellen")
    ] = None,
    corrections: Annotated[
        Path | None, typer.Option("--corrections", help="Rettingar (JSONL-eksport) for --learn")
    ] = None,
    mail_dir: Annotated[
        Path | None, typer.Option("--mail", help="Mappe med <saks-id>.eml for --learn")
    ] = None,
    titles: Annotated[
        Path, typer.Option("--titles", help="Verkelege journaltitlar (incoming.tsv)")
    ] = DEFAULT_TITLES,
    models: Annotated[
        Path, typer.Option("--models", help="Mappa med modellane og current.json")
    ] = DEFAULT_MODEL_DIR,
) -> None:
    """Klassifiser e-post, mål klassifiseringa (--eval), eller bygg og vel modell."""
    console = Console()
    if train or learn or promote is not None:
        if paths or eval_dir is not None:
            raise _fail("--train, --learn og --promote tek ingen filer eller --eval")
        _model_commands(
            console,
            org_path,
            titles,
            models,
            train,
            learn,
            promote,
            by,
            version,
            corrections,
            mail_dir,
        )
        return
    if eval_dir is not None and paths:
        raise _fail("bruk anten filer eller --eval, ikkje begge")
    if eval_dir is None and not paths:
        raise _fail("gje minst éi .eml-fil eller mappe, eller --eval MAPPE")
    org, classifier = _load(org_path, rules_path, models)
    if eval_dir is not None:
        _evaluate(eval_dir, as_json, classifier, org, titles, console)
    elif explain:
        missing = [str(p) for p in paths or [] if not p.exists()]
        if missing:
            raise _fail(f"finn ikkje {', '.join(missing)}")
        modelcli.explain(paths or [], classifier, org, console)
    else:
        _classify_paths(paths or [], as_json, classifier, org, console)
