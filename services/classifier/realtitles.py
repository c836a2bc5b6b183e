"""Real journal titles (`../shared/corpus/real-titles/incoming.tsv`): reading them, which of Hå's
departments each receiving unit corresponds to, the fixed split that keeps an evaluation part
away from every training step, and mail built on a title as it would reach post@.

Every row was journalført, so every title is archival. Kristiansand (planning and building only)
is split by case into train / tune / eval; Porsgrunn (42 rows, all departments) is the held-out
municipality that no training or tuning step reads.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from services.common.settings import REPO_ROOT

DEFAULT_TITLES = REPO_ROOT.parent / "shared" / "corpus" / "real-titles" / "incoming.tsv"
HELD_OUT_MUNICIPALITY = "Porsgrunn"
Split = Literal["train", "tune", "eval", "heldout"]
# Share of cases (by a hash of the case title, so that one case never straddles two parts).
EVAL_SHARE = 0.10
TUNE_SHARE = 0.05

# Receiving unit -> Hå's department (config/ha-kommune.yaml), first match wins. A unit that says
# nothing about the content (document centre, service desk, the chief executive) maps to None:
# such rows teach the class, not the department.
_UNIT_DEPARTMENTS: tuple[tuple[re.Pattern[str], str | None], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), department)
    for pattern, department in (
        (r"bygg- og eiendomsdrift|kommunalteknikk|^vei$|brann|feier", "teknisk"),
        (r"byggesak|tilsyn og ulovlighet|\bplan\b|eiendomsdanning|geografisk|geodata", "bygg"),
        (r"byutvikling|stedsutvikling|plan og bygg|^pb ", "bygg"),
        (r"eiendomsskatt|rådmannens stab", "stab"),
        (r"kultur|idrett", "kultur"),
        (r"helse|rus|omsorg|nav|barnevern", "helse"),
        (r"skole|skule|barnehage|oppvekst", "skule"),
        (r"service|dokumentsenter|rådmannen$|service accounts|kommune$", None),
    )
)


@dataclass(frozen=True, slots=True)
class RealTitle:
    municipality: str
    title: str
    case_title: str
    unit: str
    party_kind: str

    @property
    def department(self) -> str | None:
        """Hå's department for the receiving unit, where the unit says which."""
        for pattern, department in _UNIT_DEPARTMENTS:
            if pattern.search(self.unit.strip()):
                return department
        return None

    @property
    def split(self) -> Split:
        if self.municipality == HELD_OUT_MUNICIPALITY:
            return "heldout"
        key = f"{self.municipality}\n{self.case_title or self.title}".encode()
        share = int.from_bytes(hashlib.sha256(key).digest()[:4], "big") / 2**32
        if share < EVAL_SHARE:
            return "eval"
        return "tune" if share < EVAL_SHARE + TUNE_SHARE else "train"


def title_key(title: str) -> str:
    """How a repository file names a title without copying it: its digest."""
    return hashlib.sha256(title.encode()).hexdigest()[:12]


def read_titles(path: Path = DEFAULT_TITLES) -> Iterator[RealTitle]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["title"].strip():
                yield RealTitle(
                    municipality=row["municipality"],
                    title=row["title"].strip(),
                    case_title=row["case_title"].strip(),
                    unit=row["unit"].strip(),
                    party_kind=row["party_kind"].strip(),
                )


# Bodies for mail built on a title. Training augments with _TRAINING_BODIES; evaluation uses
# _EVALUATION_BODIES, which no training step sees, so a body's wording cannot carry the figure.
TRAINING_BODIES = (
    "Hei. Sender over dokumentet. Mvh",
    "Vedlagt følgjer brevet. Helsing",
    "Se vedlegg. Med vennlig hilsen",
    "Please find the document attached. Regards",
)
_EVALUATION_BODIES = (
    "Hei,\n\nViser til saka. Sjå vedlegget.\n\nMed helsing",
    "Hei\n\nOversender som avtalt.\n\nVennlig hilsen",
    "God dag,\n\nDokumentet ligg ved denne e-posten.\n\nHelsing",
    "Hello,\n\nPlease see the attached letter.\n\nKind regards",
)
_SENDERS = {
    "person": "NN <nn.{n}@epost.example>",
    "organisation": "Firma {n} AS <post@firma{n}.example>",
}


def title_mail(title: RealTitle, number: int, to: str = "post@ha.kommune.no") -> bytes:
    """A mail whose subject is the title, with a short neutral body; every second one carries the
    letter as a PDF, as real mail to post@ does."""
    message = EmailMessage()
    message["From"] = _SENDERS.get(title.party_kind, "Avsendar <avsendar{n}@post.example>").format(
        n=number
    )
    message["To"] = to
    message["Subject"] = title.title
    message["Message-ID"] = f"<title.{number}@realtitles.example>"
    message.set_content(_EVALUATION_BODIES[number % len(_EVALUATION_BODIES)])
    if number % 2 == 0:
        message.add_attachment(
            b"%PDF-1.4 placeholder", maintype="application", subtype="pdf", filename="brev.pdf"
        )
    return message.as_bytes()
