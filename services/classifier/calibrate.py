"""When post@ mail leaves post@: `departments.min_score` and `margin` chosen by cross-validation
on the written department mail (`training/written.yaml`) and the written department titles
(`training/department_titles.yaml`), never on an evaluation set:

    python -m services.classifier.calibrate

Each of four folds of the written examples is held out in turn: a model is fitted on the base
data without it, and each held-out example, sent to post@ (a written mail as a citizen's mail, a
title as mail built on a journal title is), is suggested a department under every pair of
thresholds of the grid. A pair's cost counts what people must do about the suggestions: a mail
left with post@ that belongs to a department costs one move by hand; a mail sent to the wrong
department (or away from post@ when it belongs there) costs two, since the wrong people read it
before it is moved on. The table is printed with the cheapest cost and the rule file's pair. Which
examples land in which fold shifts a pair's cost by up to about ten (a written title added or
struck moves others), so the rule file holds, of the pairs within that of the cheapest, the one
that moves the most mail right.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from services.classifier.corpus import classify_mime
from services.classifier.engine import Classifier
from services.classifier.realtitles import RealTitle, title_mail
from services.classifier.ruleset import RuleFile, default_rules
from services.classifier.train import Corpora, base_examples, load_corpora
from services.classifier.training import (
    Example,
    Settings,
    department_title_examples,
    fit,
    written_examples,
)
from services.common.orgconfig import Organisation

FOLDS = 4
MIN_SCORES = (1.0, 1.5, 2.0, 2.5, 3.0)
MARGINS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
WRONG_COST = 2  # a mail sent to the wrong department, against one left with post@


@dataclass(frozen=True, slots=True)
class Outcome:
    min_score: float
    margin: float
    right: int
    left_with_post: int  # belonged to a department, stayed with post@
    wrong: int  # moved to the wrong department, or away from post@ where it belonged

    @property
    def cost(self) -> int:
        return self.left_with_post + WRONG_COST * self.wrong


def _fold(text: str) -> int:
    return hashlib.sha256(text.encode()).digest()[0] % FOLDS


def post_mail(text: str, number: int) -> bytes:
    """A written example as a citizen's mail to post@: its first sentence the subject."""
    subject, _, body = text.partition(". ")
    message = EmailMessage()
    message["From"] = f"NN <nn.{number}@epost.example>"
    message["To"] = "post@ha.kommune.no"
    message["Subject"] = subject
    message["Message-ID"] = f"<calibrate.{number}@written.example>"
    message.set_content(body or "Sjå vedlagt.")
    return message.as_bytes()


def held_out_mail(example: Example, number: int) -> bytes:
    """The mail to post@ a held-out example stands for."""
    if example.source == "written-titles":
        title = example.text.partition("\n")[0]  # without the generic body training gave it
        kind = ("person", "organisation")[number % 2]
        return title_mail(RealTitle("written", title, "", "", kind), number)
    return post_mail(example.text, number)


def _with_thresholds(rules: RuleFile, min_score: float, margin: float) -> RuleFile:
    departments = rules.departments.model_copy(update={"min_score": min_score, "margin": margin})
    return rules.model_copy(update={"departments": departments})


def calibrate(corpora: Corpora, settings: Settings) -> list[Outcome]:
    rules = default_rules()
    held_out = [
        *(e for e in written_examples() if e.department),
        *department_title_examples(settings),
    ]
    base = base_examples(corpora, settings)
    # (right, left with post@, wrong) per threshold pair of the grid and the rule file's own
    pairs = [(s, m) for s in MIN_SCORES for m in MARGINS]
    own = (rules.departments.min_score, rules.departments.margin)
    tallies: dict[tuple[float, float], list[int]] = {
        pair: [0, 0, 0] for pair in (pairs if own in pairs else [*pairs, own])
    }
    for fold in range(FOLDS):
        testing = [e for e in held_out if _fold(e.text) == fold]
        withheld = {(e.source, e.text) for e in testing}
        training: list[Example] = [e for e in base if (e.source, e.text) not in withheld]
        model = fit(training, f"calibrate-{fold}", settings)
        mails = [held_out_mail(e, n) for n, e in enumerate(testing)]
        for (min_score, margin), tally in tallies.items():
            classifier = Classifier(_with_thresholds(rules, min_score, margin), model)
            for example, raw in zip(testing, mails, strict=True):
                _tally(tally, example, raw, classifier, corpora.org)
    return [Outcome(s, m, *tally) for (s, m), tally in tallies.items()]


def _tally(
    tally: list[int], example: Example, raw: bytes, classifier: Classifier, org: Organisation
) -> None:
    suggested = classify_mime(raw, classifier, org).suggested_department
    if suggested == example.department:
        tally[0] += 1
    elif suggested == org.common_department:
        tally[1] += 1
    else:
        tally[2] += 1


def main(argv: Sequence[str] | None = None) -> int:
    del argv  # no options: the grid and the folds are fixed, so the answer is reproducible
    outcomes = calibrate(load_corpora(), Settings())
    print("| min_score | margin | rett | att på post@ | feil | kostnad |")
    print("|---|---|---|---|---|---|")
    for o in outcomes:
        figures = (o.min_score, o.margin, o.right, o.left_with_post, o.wrong, o.cost)
        print("| " + " | ".join(str(f) for f in figures) + " |")
    departments = default_rules().departments
    current = next(
        o
        for o in outcomes
        if (o.min_score, o.margin) == (departments.min_score, departments.margin)
    )
    print(
        f"lågaste kostnad {min(o.cost for o in outcomes)}; regelfila: min_score "
        f"{current.min_score}, margin {current.margin}, kostnad {current.cost}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
