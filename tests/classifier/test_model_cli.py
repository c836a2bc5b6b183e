"""`sakspost classify --explain / --promote / --eval` with the model, and what `--learn` learns
from (issue 18). Building a whole model is `make`-sized work, so --train and --learn are run by
hand (README); their parts are tested here and in test_model.py."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from schemas.vocab import MailClass
from services.classifier.cli import classify_app
from services.classifier.corrections import Correction
from services.classifier.engine import Classifier
from services.classifier.learning import (
    agreement,
    corrected_mail,
    correction_examples,
    held_back,
    mail_folder,
)
from services.classifier.modelstore import DEFAULT_MODEL_DIR, current_version, history
from services.classifier.received import default_classifier
from services.classifier.ruleset import default_rules
from services.classifier.training import Settings
from services.common.natsserver import free_port
from services.common.orgconfig import Organisation
from tests.conftest import SAMPLES

RUNNER = CliRunner()
TITLES_HEADER = (
    "municipality\tjournal_date\ttitle\tcase_title\tunit\tparty_kind\traw_doc_category\t"
    "case_category\n"
)


def _models(tmp_path: Path) -> Path:
    """A copy of the repository's model folder: promoting must not touch the real one."""
    folder = tmp_path / "models"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    return folder


def test_promote_records_who_and_when(tmp_path: Path) -> None:
    folder = _models(tmp_path)
    version = current_version(folder)
    assert version is not None
    refused = RUNNER.invoke(classify_app, ["--promote", version, "--models", str(folder)])
    assert refused.exit_code == 2 and "--by" in refused.output
    unknown = RUNNER.invoke(
        classify_app, ["--promote", "9999.1", "--by", "gro.nesvik", "--models", str(folder)]
    )
    assert unknown.exit_code == 2
    before = datetime.now(UTC).replace(microsecond=0)
    result = RUNNER.invoke(
        classify_app, ["--promote", version, "--by", "gro.nesvik", "--models", str(folder)]
    )
    assert result.exit_code == 0, result.output
    last = history(folder)[-1]
    assert (last.version, last.by) == (version, "gro.nesvik")
    assert datetime.fromisoformat(last.at) >= before
    assert len(history(folder)) == len(history(DEFAULT_MODEL_DIR)) + 1


def test_explain_shows_reasons_and_the_models_strongest_terms() -> None:
    result = RUNNER.invoke(classify_app, [str(SAMPLES / "0010.eml"), "--explain"])
    assert result.exit_code == 0, result.output
    assert "arkivverdig" in result.output
    assert "sterkaste ord for arkivverdig" in result.output
    assert f"model.{current_version()}" in result.output


def test_explain_speaks_english_when_asked() -> None:
    result = RUNNER.invoke(
        classify_app,
        [str(SAMPLES / "0010.eml"), "--explain"],
        env={"SAKSPOST_LANGUAGE": "en"},
    )
    assert result.exit_code == 0, result.output
    assert "the model's strongest terms for arkivverdig" in result.output


def test_eval_adds_real_titles_and_calibration(tmp_path: Path) -> None:
    titles = tmp_path / "incoming.tsv"
    titles.write_text(
        TITLES_HEADER
        + "Porsgrunn\t2018-04-11\tSøknad om ferdigattest - Storgata 3\t\tByutvikling\t"
        "person\tI\t\n"
        + "Porsgrunn\t2018-04-11\tKlage på vedtak om skoleskyss\t\tOppvekst\tperson\tI\t\n",
        encoding="utf-8",
    )
    result = RUNNER.invoke(
        classify_app, ["--eval", str(SAMPLES), "--titles", str(titles), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    held_out = data["real_titles"]["held-out municipality (Porsgrunn)"]
    assert held_out["mails"] == 2 and held_out["arkivverdig_recall"] == 1.0
    assert data["calibration"][0]["confidence_at_least"] == 0.5
    assert data["model_version"] == current_version()
    text = RUNNER.invoke(classify_app, ["--eval", str(SAMPLES), "--titles", str(titles)])
    assert "Kalibrering" in text.output and "ms per e-post" in text.output


def test_an_export_needs_both_corrections_and_mail(tmp_path: Path) -> None:
    result = RUNNER.invoke(classify_app, ["--learn", "--corrections", str(tmp_path / "c.jsonl")])
    assert result.exit_code == 2 and "--mail" in result.output


def test_without_an_export_learn_says_when_nats_cannot_be_reached() -> None:
    closed = f"nats://127.0.0.1:{free_port()}"
    login = {"SAKSPOST_NATS_USER": "admin", "SAKSPOST_NATS_PASSWORD": "sany"}
    result = RUNNER.invoke(classify_app, ["--learn"], env={"SAKSPOST_NATS_URL": closed, **login})
    assert result.exit_code == 2
    assert closed in result.output and "NATS" in result.output


def test_without_a_login_learn_says_where_it_looked(tmp_path: Path) -> None:
    environment = {"SAKSPOST_DATA_DIR": str(tmp_path), "SAKSPOST_LANGUAGE": "en"}
    result = RUNNER.invoke(classify_app, ["--learn"], env=environment)
    assert result.exit_code == 2
    assert f"{tmp_path / 'credentials' / 'admin.env'} does not exist" in result.output


def test_corrections_become_examples_and_a_fifth_is_held_back(
    tmp_path: Path, org: Organisation
) -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    corrections = []
    for number, sample in enumerate(sorted(SAMPLES.glob("*.eml"))[:20]):
        case_id = f"case{number:02d}"
        shutil.copy(sample, tmp_path / f"{case_id}.eml")
        corrections.append(Correction(case_id, "class", None, "privat", "gro.nesvik", at, "e"))
    corrections.append(Correction("nomail", "department", "bygg", "kultur", None, at, "e"))
    corrected = corrected_mail(corrections, mail_folder(tmp_path))
    assert len(corrected) == 20  # the case without mail teaches nothing
    examples = correction_examples(corrected, Classifier(default_rules()), org, Settings())
    kept = [c for c in corrected if held_back(c.correction.case_id)]
    assert kept and len(examples) == 20 - len(kept)
    assert all(e.mail_class is MailClass.PRIVAT and e.weight == 3.0 for e in examples)
    agreeing, total = agreement(corrected, default_classifier(), org)
    assert total == len(kept) and 0 <= agreeing <= total
