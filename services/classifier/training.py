"""Building the model: labelled examples from every source, and the scikit-learn fit exported to
plain arrays (`model.save_model`).

Sources, with what each may teach:
- real journal titles (train split only): arkivverdig, and the department of the receiving unit;
- `samples/` (the project's labelled development mail): class, and department for shared mailboxes;
- `training/written.yaml`: offisiell and privat (the titles have no negatives), and departments;
- `training/department_titles.yaml`: written journal titles of every department's work (the real
  titles are nearly all one municipality's planning and building): departments, and arkivverdig
  lightly;
- the organisation file's department `tasks`: departments;
- real unit names of 41 municipalities (`units.py`): departments, weakly (the name only);
- corrections by caseworkers (`corrections.py`): the class or department a person set.
Held-out and blind written mail, the titles' eval split and the held-out municipality are never
read here.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from schemas.vocab import MailClass
from services.classifier.corpus import LABELS_FILE
from services.classifier.engine import Classifier, model_text
from services.classifier.evaluation import parse_labels
from services.classifier.mailbox import delivered_mailbox
from services.classifier.model import CLASS_HEAD, DEPARTMENT_HEAD, Head, TextModel
from services.classifier.modelterms import model_terms
from services.classifier.realtitles import TRAINING_BODIES, RealTitle
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation

WRITTEN_PATH = Path(__file__).with_name("training") / "written.yaml"
DEPARTMENT_TITLES_PATH = Path(__file__).with_name("training") / "department_titles.yaml"
# Bump when model_terms or the fit changes meaning: part of every model's data hash.
FEATURE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Settings:
    """The fit's knobs; recorded in every training report."""

    max_titles: int = 6_000  # real titles for the class head (sampled by hash: reproducible)
    max_department_titles: int = 1_500  # per department (the unit names it)
    title_share: float = 0.5  # share of the arkivverdig weight the titles carry (class head)
    # Share of all department weight (department head): the titles teach almost only one
    # department of eight (one municipality's planning and building): a quarter, not half.
    department_title_share: float = 0.25
    body_every: int = 3  # every n-th title, task or unit name also gets a short generic body
    min_df: int = 2
    max_features: int = 40_000
    class_c: float = 2.0
    department_c: float = 15.0
    correction_weight: float = 3.0  # a person's correction counts as this many examples
    # A written title is an incoming letter a journal would hold, so it teaches arkivverdig too,
    # lightly: a few are the kind of notice or question the guide calls offisiell.
    written_title_class_weight: float = 0.3
    unit_weight: float = 0.5  # a unit's name is a weak label: half a written example


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    mail_class: MailClass | None
    department: str | None
    source: str
    weight: float = 1.0
    class_weight: float | None = None  # the class head's weight, where it is not `weight`

    @property
    def weight_for_class(self) -> float:
        return self.weight if self.class_weight is None else self.class_weight


def _hash_order(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def with_generic_body(text: str, number: int, settings: Settings) -> str:
    """Every `body_every`-th text of a source gets one of the generic bodies. Every source of
    department examples gets them at the same rate: were they only on the real titles (nearly all
    building cases), "see the attached letter" would itself come to mean the building department."""
    if number % settings.body_every:
        return text
    return text + "\n" + TRAINING_BODIES[number // settings.body_every % len(TRAINING_BODIES)]


def title_examples(titles: Iterable[RealTitle], settings: Settings) -> list[Example]:
    """Titles of the train split in a fixed hash order, some with a generic body (mail to post@ is
    a subject with a line or two, not a bare title): the first `max_titles` teach the class, and
    the first `max_department_titles` of each department teach the department, so that a rare
    unit's titles (property tax beside tens of thousands of building cases) are not sampled away."""
    chosen = sorted(
        (t for t in titles if t.split == "train"), key=lambda t: _hash_order(t.title + t.unit)
    )
    per_department: Counter[str] = Counter()
    examples: list[Example] = []
    for number, title in enumerate(chosen):
        department = title.department
        if department is not None and per_department[department] < settings.max_department_titles:
            per_department[department] += 1
        else:
            department = None
        mail_class = MailClass.ARKIVVERDIG if number < settings.max_titles else None
        if mail_class is None and department is None:
            continue
        text = with_generic_body(title.title, number, settings)
        examples.append(Example(text, mail_class, department, "real-titles"))
    return examples


def labelled_mail_examples(
    directory: Path, classifier: Classifier, org: Organisation, source: str
) -> list[Example]:
    labels_path = directory / LABELS_FILE
    labels = parse_labels(labels_path.read_text(encoding="utf-8").splitlines(), str(labels_path))
    examples: list[Example] = []
    for label in labels:
        mail = parse_mail((directory / label.file).read_bytes())
        view = classifier.view(mail, delivered_mailbox(mail, org), org, None)
        # A department mailbox's private mail says nothing about that department's work.
        department = (
            label.department
            if label.shared_mailbox and label.mail_class is not MailClass.PRIVAT
            else None
        )
        examples.append(Example(model_text(view), label.mail_class, department, source))
    return examples


def written_examples(path: Path = WRITTEN_PATH) -> list[Example]:
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Example(e["text"], MailClass(e["class"]), e.get("department"), "written") for e in entries
    ]


def department_title_examples(
    settings: Settings, path: Path = DEPARTMENT_TITLES_PATH
) -> list[Example]:
    """Written journal titles of every department's work: their department, and arkivverdig
    with `written_title_class_weight`."""
    entries: list[dict[str, str]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Example(
            with_generic_body(e["title"], n, settings),
            MailClass.ARKIVVERDIG,
            e["department"],
            "written-titles",
            class_weight=settings.written_title_class_weight,
        )
        for n, e in enumerate(entries)
    ]


def task_examples(org: Organisation, settings: Settings) -> list[Example]:
    """Each department's `tasks` from the organisation file: department examples only (a task
    names a kind of mail, not whether a given mail of that kind is archival)."""
    tasks = [(key, task) for key, d in org.departments.items() for task in d.tasks]
    return [
        Example(with_generic_body(task, n, settings), None, key, "org-tasks", weight=2.0)
        for n, (key, task) in enumerate(tasks)
    ]


def unit_examples(units: Iterable[tuple[str, str]], settings: Settings) -> list[Example]:
    """Real unit names with the department the mapping gives them: department examples only."""
    return [
        Example(
            with_generic_body(name, n, settings),
            None,
            department,
            "units",
            weight=settings.unit_weight,
        )
        for n, (name, department) in enumerate(units)
    ]


def _weights(
    examples: Sequence[Example],
    share: float,
    counted: Callable[[Example], bool],
    weight_of: Callable[[Example], float],
) -> list[float]:
    """Titles carry `share` of the weight of their label (arkivverdig for the class head, every
    department for the department head) however many there are, so that tens of thousands of
    building titles neither drown the written mail nor vanish beside it."""
    titles = sum(1 for e in examples if e.source == "real-titles" and counted(e))
    others = sum(weight_of(e) for e in examples if e.source != "real-titles" and counted(e))
    per_title = others * share / (1 - share) / titles if titles else 0.0
    return [per_title if e.source == "real-titles" else weight_of(e) for e in examples]


def data_hash(examples: Sequence[Example], settings: Settings) -> str:
    digest = hashlib.sha256(f"{FEATURE_VERSION}\n{settings}".encode())
    for e in examples:
        line = json.dumps(
            [
                e.text,
                e.mail_class and e.mail_class.value,
                e.department,
                e.source,
                e.weight,
                e.class_weight,
            ]
        )
        digest.update(line.encode())
    return digest.hexdigest()[:8]


def _head(model: Any) -> Head:
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:
        # Binary: scikit-learn keeps one row; two opposite halves give the same probabilities
        # under the softmax that inference uses.
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return Head(tuple(str(c) for c in model.classes_), coef, intercept)


def _class_label(example: Example) -> str | None:
    return example.mail_class.value if example.mail_class else None


def _department_label(example: Example) -> str | None:
    return example.department


def fit(examples: Sequence[Example], version: str, settings: Settings) -> TextModel:
    """TF-IDF over `model_terms` and one logistic regression per head."""
    # scikit-learn is needed only here, so that classifying never imports it.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(
        analyzer=model_terms,
        sublinear_tf=True,
        min_df=settings.min_df,
        max_features=settings.max_features,
    )
    matrix = vectorizer.fit_transform([e.text for e in examples])
    heads: dict[str, Head] = {}
    head_specs: tuple[tuple[str, Callable[[Example], str | None], float, Any], ...] = (
        (
            CLASS_HEAD,
            _class_label,
            settings.class_c,
            np.array(
                _weights(
                    examples,
                    settings.title_share,
                    lambda e: e.mail_class is MailClass.ARKIVVERDIG,
                    lambda e: e.weight_for_class,
                )
            ),
        ),
        (
            DEPARTMENT_HEAD,
            _department_label,
            settings.department_c,
            np.array(
                _weights(
                    examples,
                    settings.department_title_share,
                    lambda e: bool(e.department),
                    lambda e: e.weight,
                )
            ),
        ),
    )
    for name, label_of, c, weights in head_specs:
        rows = [i for i, e in enumerate(examples) if label_of(e)]
        labels = [str(label_of(examples[i])) for i in rows]
        model = LogisticRegression(C=c, max_iter=3_000, class_weight="balanced")
        model.fit(matrix[rows], labels, sample_weight=weights[rows])
        heads[name] = _head(model)
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    terms = [""] * len(vocabulary)
    for term, index in vocabulary.items():
        terms[index] = term
    meta = {
        "settings": _settings_dict(settings),
        "examples": _counts(examples),
        "data_hash": data_hash(examples, settings),
        "feature_version": FEATURE_VERSION,
    }
    return TextModel(version, terms, np.asarray(vectorizer.idf_, np.float64), heads, meta)


def _settings_dict(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.__dataclass_fields__}


def _counts(examples: Sequence[Example]) -> dict[str, dict[str, int]]:
    classes = Counter(f"{e.source}/{e.mail_class.value}" for e in examples if e.mail_class)
    departments = Counter(e.department for e in examples if e.department)
    return {
        "classes": dict(sorted(classes.items())),
        "departments": dict(sorted(departments.items())),
    }
