"""From people's corrections to training examples for a candidate model (`--learn`).

A correction names a case; its mail is read from a folder of `<case id>.eml` (exported from the
MIME store). A fixed fifth of the corrections (by a hash of the case id) is held back: the
candidate never learns from it, and both models are measured on whether they now agree with the
person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from schemas.vocab import MailClass
from services.classifier.corrections import Correction
from services.classifier.engine import Classifier, model_text
from services.classifier.mailbox import delivered_mailbox
from services.classifier.training import Example, Settings
from services.common.mail import ParsedMail, parse_mail
from services.common.orgconfig import Organisation

HELD_BACK_EVERY = 5


@dataclass(frozen=True, slots=True)
class CorrectedMail:
    correction: Correction
    mail: ParsedMail


def held_back(case_id: str) -> bool:
    return hashlib.sha256(case_id.encode()).digest()[0] % HELD_BACK_EVERY == 0


def corrected_mail(corrections: Sequence[Correction], mail_dir: Path) -> list[CorrectedMail]:
    """The corrections whose mail is in `mail_dir`; the others cannot teach anything."""
    found = []
    for correction in corrections:
        path = mail_dir / f"{correction.case_id}.eml"
        if path.is_file():
            found.append(CorrectedMail(correction, parse_mail(path.read_bytes())))
    return found


def correction_examples(
    corrected: Sequence[CorrectedMail],
    classifier: Classifier,
    org: Organisation,
    settings: Settings,
) -> list[Example]:
    examples = []
    for item in corrected:
        if held_back(item.correction.case_id):
            continue
        view = classifier.view(item.mail, delivered_mailbox(item.mail, org), org, None)
        new = item.correction.new
        is_class = item.correction.field == "class"
        examples.append(
            Example(
                model_text(view),
                MailClass(new) if is_class else None,
                None if is_class else new,
                "corrections",
                settings.correction_weight,
            )
        )
    return examples


def agreement(
    corrected: Sequence[CorrectedMail], classifier: Classifier, org: Organisation
) -> tuple[int, int]:
    """(agreeing, held back): how many held-back corrections the classifier now makes itself."""
    agreeing = total = 0
    for item in corrected:
        if not held_back(item.correction.case_id):
            continue
        result = classifier.classify(item.mail, delivered_mailbox(item.mail, org), org)
        said = (
            result.mail_class.value
            if item.correction.field == "class"
            else result.suggested_department
        )
        total += 1
        agreeing += said == item.correction.new
    return agreeing, total
