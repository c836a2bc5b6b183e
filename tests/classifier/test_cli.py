"""`sakspost classify`: files and folders without a server, and `--eval` on a labelled corpus."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from devtools.bench.classify import bench_classifier
from services.classifier.cli import classify_app
from services.classifier.modelstore import current_version
from tests.conftest import SAMPLES

RUNNER = CliRunner()
KEYS = {
    "file",
    "mail_class",
    "confidence",
    "sensitive",
    "topics",
    "suggested_department",
    "reasons",
    "rules_version",
    "model_version",
}


def test_json_lines_for_files_and_folders(tmp_path: Path) -> None:
    folder = tmp_path / "innboks"
    folder.mkdir()
    (folder / "b.eml").write_bytes((SAMPLES / "0055.eml").read_bytes())
    (folder / "a.eml").write_bytes((SAMPLES / "0047.eml").read_bytes())
    single = str(SAMPLES / "0010.eml")
    result = RUNNER.invoke(classify_app, [single, str(folder), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["file"] for line in lines] == [
        single,
        str(folder / "a.eml"),
        str(folder / "b.eml"),
    ]
    assert all(set(line) == KEYS for line in lines)
    assert [line["mail_class"] for line in lines] == ["arkivverdig", "arkivverdig", "privat"]
    assert "fodselsnummer" in lines[0]["sensitive"]


def test_human_table_is_nynorsk() -> None:
    result = RUNNER.invoke(classify_app, [str(SAMPLES / "0001.eml")], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Klassifisering" in result.output and "offisiell" in result.output


def test_eval_prints_matrix_and_figures(tmp_path: Path) -> None:
    # Without the real titles: their figures are test_model_cli.py's (and cost minutes here).
    no_titles = ["--titles", str(tmp_path / "absent.tsv")]
    human = RUNNER.invoke(
        classify_app, ["--eval", str(SAMPLES), *no_titles], env={"COLUMNS": "160"}
    )
    assert human.exit_code == 0, human.output
    for words in (
        "Forvekslingsmatrise",
        "Presisjon",
        "Treffsikkerheit",
        "Rett avdeling",
        "identitetsnummer",
    ):
        assert words in human.output
    as_json = RUNNER.invoke(classify_app, ["--eval", str(SAMPLES), "--json", *no_titles])
    data = json.loads(as_json.output)
    assert data["mails"] == 160 and data["accuracy"] >= 0.93


def test_eval_names_the_model_it_measured(tmp_path: Path) -> None:
    # Rules alone (`--models` with no current model) must not be reported as the current model.
    no_titles = ["--titles", str(tmp_path / "absent.tsv")]
    rules_only = RUNNER.invoke(
        classify_app, ["--eval", str(SAMPLES), "--models", str(tmp_path), *no_titles]
    )
    assert rules_only.exit_code == 0, rules_only.output
    assert "ingen modell i bruk" in rules_only.output
    with_model = RUNNER.invoke(classify_app, ["--eval", str(SAMPLES), *no_titles])
    assert f"Modell i bruk: {current_version()}" in with_model.output


def test_mounted_as_a_subcommand_options_may_follow_paths() -> None:
    root = typer.Typer()

    @root.command()
    def status() -> None:
        """Another command, so that `classify` is a sub-app as in `sakspost`."""

    root.add_typer(classify_app, name="classify")
    result = RUNNER.invoke(root, ["classify", str(SAMPLES / "0005.eml"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["mail_class"] == "privat"


def test_errors_are_clear(tmp_path: Path) -> None:
    missing = RUNNER.invoke(classify_app, [str(tmp_path / "nope.eml")])
    assert missing.exit_code == 2 and "finn ikkje" in missing.output
    empty = RUNNER.invoke(classify_app, [str(tmp_path)])
    assert empty.exit_code == 2 and "ingen .eml" in empty.output
    no_labels = RUNNER.invoke(classify_app, ["--eval", str(tmp_path)])
    assert no_labels.exit_code == 2 and "labels.jsonl" in no_labels.output
    (tmp_path / "labels.jsonl").write_text(
        '{"file": "x.eml", "class": "hemmeleg"}\n', encoding="utf-8"
    )
    bad = RUNNER.invoke(classify_app, ["--eval", str(tmp_path)])
    assert bad.exit_code == 2 and "labels.jsonl:1" in bad.output
    both = RUNNER.invoke(classify_app, [str(SAMPLES / "0001.eml"), "--eval", str(SAMPLES)])
    assert both.exit_code == 2


def test_bench_reports_mails_per_second() -> None:
    figures = bench_classifier(SAMPLES, min_seconds=0.05)
    assert figures["classifier.mails_per_second"] > 0
    assert figures["classifier.mails"] >= 160
