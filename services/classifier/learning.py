"""From people's corrections to training examples for a candidate model (`--learn`).

A correction names a case; its mail is read where it is kept, the MIME store (by the SHA-256 the
correction carries, `learnsource.py`), or from a folder of `<case id>.eml` exported from it. A
fixed fifth of the corrections (by a hash of the case id) is held back: the candidate never learns
from it, and both models are measured on whether they now agree with the person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
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


# The raw MIME of a corrected mail, or None where it cannot be had.
MailReader = Callable[[Correction], bytes | None]


def corrected_mail(corrections: Sequence[Correction], read: MailReader) -> list[CorrectedMail]:
    """The corrections whose mail can be read; the others cannot teach anything."""
    found = []
    for correction in corrections:
        raw = read(correction)
        if raw is not None:
            found.append(CorrectedMail(correction, parse_mail(raw)))
    return found


def mail_folder(mail_dir: Path) -> MailReader:
    """Mail exported as `<case id>.eml` files."""

    def read(correction: Correction) -> bytes | None:
        path = mail_dir / f"{correction.case_id}.eml"
        return path.read_bytes() if path.is_file() else None

    return read


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
