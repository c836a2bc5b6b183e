"""Journalpost titles from a mail's subject (R3).

The title is in the archive's journal, which the public may read. An ordinary mail keeps its
subject, cleaned of reply prefixes, with identity numbers masked. A sensitive mail's title is built
only from a short list of neutral document kinds ("Søknad", "Klage"...), so none of its sensitive
words can reach the journal: an allow-list, because a list of forbidden words always misses one.

The subject is the sender's text: it is brought to its NFKC form and stripped of invisible
formatting characters (zero-width and direction marks), so that what the journal shows is what
was matched, and anything in it that looks like websak's filing marker is neutralised
(`markers.py`).
"""

from __future__ import annotations

import re
import unicodedata

from services.common.idnumbers import mask_identity_numbers
from services.websak.markers import neutralise_markers

MAX_TITLE_LENGTH = 200
MASK = "******"
UNTITLED = "E-post utan emne"
SCREENED_SUFFIX = "skjerma e-post"

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|sv|vs|fw|fwd|aw|wg|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# (pattern in the subject, neutral kind in the title), first match wins.
_NEUTRAL_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"innsyn|access to (?:public )?records", re.I), "Innsynskrav"),
    (re.compile(r"klage|complaint|appeal|innsigelse|merknad", re.I), "Klage"),
    (re.compile(r"søknad|soknad|søkjer|application|anmodning|request", re.I), "Søknad"),
    (re.compile(r"høyring|høring|uttale|uttalelse", re.I), "Høyringssvar"),
    (re.compile(r"tilbod|tilbud|tender|offer", re.I), "Tilbod"),
    (re.compile(r"kontrakt|avtale|contract|agreement", re.I), "Avtale"),
    (re.compile(r"oppseiing|oppsigelse|resignation", re.I), "Oppseiing"),
    (re.compile(r"krav|claim", re.I), "Krav"),
)
_DEFAULT_KIND = "Melding"


def _visible(text: str) -> str:
    normal = unicodedata.normalize("NFKC", text)
    return "".join(c for c in normal if unicodedata.category(c) != "Cf")


def clean_subject(subject: str) -> str:
    """The subject without reply prefixes, control or formatting characters, runs of white space
    or anything that looks like a filing marker."""
    text = _CONTROL.sub(" ", _visible(subject))
    text = _REPLY_PREFIX.sub("", text)
    return neutralise_markers(_WHITESPACE.sub(" ", text).strip())


def neutral_kind(subject: str) -> str:
    for pattern, kind in _NEUTRAL_KINDS:
        if pattern.search(subject):
            return kind
    return _DEFAULT_KIND


def journalpost_title(subject: str, *, sensitive: bool) -> str:
    """The journal title of a mail; for sensitive mail, none of the subject's own words (R3)."""
    cleaned = clean_subject(subject)
    if sensitive:
        return f"{neutral_kind(cleaned)} – {SCREENED_SUFFIX}"
    masked = mask_identity_numbers(cleaned, MASK)
    if not masked:
        return UNTITLED
    if len(masked) > MAX_TITLE_LENGTH:
        return masked[: MAX_TITLE_LENGTH - 1].rstrip() + "…"
    return masked
