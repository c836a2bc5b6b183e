"""The model at classification time (issue 18): the exported arrays give scikit-learn's own
probabilities, load without pickle, explain themselves, and classify fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schemas.vocab import MailClass
from services.classifier.assessment import ms_per_mail
from services.classifier.model import (
    CLASS_HEAD,
    DEPARTMENT_HEAD,
    ModelError,
    load_model,
    save_model,
)
from services.classifier.modelstore import DEFAULT_MODEL_DIR, current_version, load_current
from services.classifier.modelterms import model_terms, normalise_for_model, readable
from services.classifier.realtitles import TRAINING_BODIES
from services.classifier.received import default_classifier
from services.classifier.training import (
    Example,
    Settings,
    department_title_examples,
    fit,
    task_examples,
    unit_examples,
)
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.settings import REPO_ROOT

TINY = [
    Example("Søknad om ferdigattest for garasje", MailClass.ARKIVVERDIG, "bygg", "t"),
    Example("Klage på vedtak om byggeløyve", MailClass.ARKIVVERDIG, "bygg", "t"),
    Example("Søknad om barnehageplass", MailClass.ARKIVVERDIG, "skule", "t"),
    Example("Kva tid opnar biblioteket", MailClass.OFFISIELL, "kultur", "t"),
    Example("Når er biblioteket ope", MailClass.OFFISIELL, "kultur", "t"),
    Example("Takk for hjelpa i dag", MailClass.OFFISIELL, None, "t"),
    Example("Stort salg: 50 % rabatt", MailClass.PRIVAT, None, "t"),
    Example("Nyhetsbrev med rabatt og tilbod", MailClass.PRIVAT, None, "t"),
]


def test_placeholders_make_properties_and_numbers_one_term() -> None:
    assert "ggbnr" in normalise_for_model("48/403 - Søknad om tilbygg")
    assert "ddato" in normalise_for_model("møte 12.03.2026")
    assert "nnum" in normalise_for_model("faktura 20417")
    terms = model_terms("Søknad om")
    assert {"w:søknad", "b:søknad om", "c: sø", "c:knad "} <= set(terms)
    assert readable("c:knad ") == "…knad…" and readable("w:søknad") == "søknad"


def test_exported_model_gives_scikit_learns_probabilities(tmp_path: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    settings = Settings(min_df=1, class_c=3.0)
    model = fit(TINY, "test.1", settings)
    path = tmp_path / "test.1.npz"
    save_model(path, model.version, model.terms, model.idf, model.heads, model.meta)
    loaded = load_model(path)
    # The same fit in scikit-learn (uniform weights: no titles among the examples).
    vectorizer = TfidfVectorizer(analyzer=model_terms, sublinear_tf=True, min_df=1)
    matrix = vectorizer.fit_transform([e.text for e in TINY])
    reference = LogisticRegression(C=3.0, max_iter=3_000, class_weight="balanced")
    reference.fit(matrix, [e.mail_class.value for e in TINY if e.mail_class])
    text = "Søknad om ferdigattest"
    expected = reference.predict_proba(vectorizer.transform([text]))[0]
    got = loaded.probabilities(CLASS_HEAD, loaded.vector(text))
    assert [got[c] for c in reference.classes_] == pytest.approx(list(expected), abs=1e-5)
    assert loaded.version == "test.1"
    assert set(loaded.heads[DEPARTMENT_HEAD].labels) == {"bygg", "skule", "kultur"}


def test_strongest_terms_are_those_of_the_mail(tmp_path: Path) -> None:
    model = fit(TINY, "test.2", Settings(min_df=1))
    vector = model.vector("Søknad om ferdigattest")
    terms = model.strongest_terms(CLASS_HEAD, "arkivverdig", vector, 5)
    assert terms and all(weight > 0 for _, weight in terms)
    # Every term shown is one of this mail's own words or pieces of them.
    assert all(term.strip("…") in " søknad om ferdigattest " for term, _ in terms)


def test_a_model_file_is_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.save(tmp_path / "x.npy", np.array([object()], dtype=object), allow_pickle=True)
    path.write_bytes((tmp_path / "x.npy").read_bytes())
    with pytest.raises(ModelError):
        load_model(path)
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ModelError):
        load_model(tmp_path / "empty.npz")


def test_the_repository_has_a_current_model_with_its_report() -> None:
    version = current_version()
    assert version is not None
    model = load_current()
    assert model is not None and model.version == version
    assert (DEFAULT_MODEL_DIR / f"{version}.md").is_file()
    assert default_classifier().model_version == version


def test_classification_stays_well_under_five_ms(org: Organisation) -> None:
    mails = [parse_mail(p.read_bytes()) for p in sorted((REPO_ROOT / "samples").glob("*.eml"))]
    assert ms_per_mail(mails, default_classifier(), org) < 5.0


def test_every_department_source_gets_the_generic_bodies_at_the_same_rate(
    org: Organisation,
) -> None:
    """A body like "see the attached letter" must carry no department: were only the real titles
    (nearly all building cases) given one, it would come to mean building."""
    settings = Settings()
    written = department_title_examples(settings)
    tasks = task_examples(org, settings)
    units = unit_examples([(f"Eining {n}", "helse") for n in range(12)], settings)
    for examples in (written, tasks, units):
        with_body = [e for e in examples if "\n" in e.text]
        assert len(with_body) == -(-len(examples) // settings.body_every)
        bodies = {e.text.partition("\n")[2] for e in with_body}
        assert bodies == set(TRAINING_BODIES)
