"""The terms the statistical model reads: words, word pairs and character n-grams of a text.

Training (scikit-learn, `analyzer=model_terms`) and inference (numpy, `model.py`) call this one
function, so that a term means the same in both. Character n-grams carry the model across
inflections, compounds and the two written standards (søknad/søknaden, byggjesak/byggesak), which
a word list cannot. Property references, dates, numbers and case numbers become one placeholder
each: `48/403` says "a property" whatever the property.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

# Longest text the model reads: the subject and the start of the sender's own words carry the
# class; a long body would only cost time.
MAX_MODEL_TEXT = 2_000
CHAR_NGRAMS = (3, 4, 5)
# Words recur from mail to mail: each word's n-grams are built once per process (a few MB at most).
NGRAM_CACHE_WORDS = 50_000

_PLACEHOLDERS = (
    # gnr/bnr (48/403, 48/403/2, gbnr. 27/59): before dates, which would also match.
    (re.compile(r"\b\d{1,4}/\d{1,5}(?:/\d{1,4})?\b"), " ggbnr "),
    (re.compile(r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"), " ddato "),
    # Archive case numbers (2024/1234, 24/01234-3).
    (re.compile(r"\b\d{2,4}/\d{3,6}-\d+\b"), " ssaksnr "),
    (re.compile(r"\d+"), " nnum "),
)
_WORD = re.compile(r"\w+", re.UNICODE)


def normalise_for_model(text: str) -> str:
    """Lower case, NFC, placeholders for numbers; underscores split words (file names)."""
    folded = unicodedata.normalize("NFC", text[:MAX_MODEL_TEXT]).casefold().replace("_", " ")
    for pattern, placeholder in _PLACEHOLDERS:
        folded = pattern.sub(placeholder, folded)
    return folded


@functools.lru_cache(maxsize=NGRAM_CACHE_WORDS)
def _char_ngrams(word: str) -> tuple[str, ...]:
    padded = f" {word} "
    return tuple(
        f"c:{padded[i : i + size]}"
        for size in CHAR_NGRAMS
        if len(padded) >= size
        for i in range(len(padded) - size + 1)
    )


def model_terms(text: str) -> list[str]:
    """Words (`w:`), adjacent word pairs (`b:`) and character n-grams within words (`c:`)."""
    words = _WORD.findall(normalise_for_model(text))
    terms = [f"w:{word}" for word in words]
    terms += [f"b:{first} {second}" for first, second in itertools.pairwise(words)]
    for word in words:
        terms += _char_ngrams(word)
    return terms


def readable(term: str) -> str:
    """A term as a person reads it in `--explain`: the text, with a mark for n-grams."""
    kind, _, value = term.partition(":")
    return f"…{value.strip()}…" if kind == "c" else value
