"""Journalpost titles: none of a sensitive mail's words reach the journal (R3)."""

from __future__ import annotations

import json
import re

from services.common.mail import parse_mail
from services.common.settings import REPO_ROOT
from services.websak.titles import (
    MASK,
    SCREENED_SUFFIX,
    UNTITLED,
    clean_subject,
    journalpost_title,
)

SAMPLES = REPO_ROOT / "samples"


def _sensitive_subjects() -> list[str]:
    subjects = []
    for line in (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label["sensitive"]:
            subjects.append(parse_mail((SAMPLES / label["file"]).read_bytes()).subject)
    return subjects


def test_sensitive_titles_hold_none_of_the_subjects_words() -> None:  # R3
    subjects = _sensitive_subjects()
    assert len(subjects) >= 10
    for subject in subjects:
        title = journalpost_title(subject, sensitive=True)
        kind = title.removesuffix(f" – {SCREENED_SUFFIX}")
        assert kind != title
        title_words = set(re.findall(r"\w+", title.lower()))
        subject_words = set(re.findall(r"\w{4,}", subject.lower()))
        # Only the neutral kind itself may coincide with a word of the subject.
        assert subject_words & title_words <= {kind.lower()}


def test_ordinary_titles_keep_the_subject_without_identity_numbers() -> None:  # R2
    title = journalpost_title("SV: Re: Søknad om bustønad for 01017012345", sensitive=False)
    assert title == f"Søknad om bustønad for {MASK}"
    assert journalpost_title("Kopi 010170 12345 vedlagt", sensitive=False) == f"Kopi {MASK} vedlagt"


def test_empty_and_overlong_subjects() -> None:
    assert journalpost_title("  Re:  ", sensitive=False) == UNTITLED
    assert len(journalpost_title("x" * 500, sensitive=False)) == 200
    assert clean_subject("Fwd:\tTilbod\n  på\x00 vegarbeid") == "Tilbod på vegarbeid"
