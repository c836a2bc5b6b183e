"""Norwegian identity numbers: fødselsnummer, d-nummer and h-nummer (R2), found and masked alike
by every service (the classifier's detector, the log redaction, the journal titles).

An identity number is 11 digits, DDMMYY + three individual digits + two mod-11 control digits.
A d-nummer adds 4 to the first digit (day 41-71), an h-nummer adds 4 to the third (month 41-52).
From 2032 the first control digit may leave a remainder of 0, 1, 2 or 3 instead of only 0 (the
second is unchanged); the permissive check below accepts both the old and the new rule, so
numbers issued before and after 2032 are found alike (docs/design.md, "Norwegian identity
numbers").

It is written plain or split 6 + 5 by a space, a no-break space (U+00A0, U+202F) or a hyphen.
Recognising (`identity_numbers`) asks for valid control digits and a real date. Masking
(`mask_identity_numbers`) covers every number the recogniser finds and more: plain and 6 + 5
forms need neither check (a dot also splits them), so mistyped numbers are masked too; any other
grouping ("01.01.90 123 45", "0101 90 12345", figure or thin spaces, up to three separator
characters) is masked when it is a valid identity number, so that dates, case numbers and phone
numbers written the same way keep their digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from schemas.vocab import SensitiveKind

K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
# Remainders of the first control sum that the 2032 rule accepts (only 0 before 2032).
K1_REMAINDERS_2032 = frozenset({0, 1, 2, 3})

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# What may split the 6 + 5 groups, and what else joins digit groups (a dot: account numbers).
_GROUPING = " \u00a0\u202f\\-"
_JOINING = f"{_GROUPING}."
# The look-arounds refuse digits that run on into a longer number or digit group.
_CANDIDATE = re.compile(
    rf"(?<!\d)(?<!\d[{_JOINING}])(\d{{6}})[{_GROUPING}]?(\d{{5}})(?![{_JOINING}]?\d)"
)
# What masking takes for a grouping: white space of any width, dots, hyphens and dashes.
_MASK_SEPARATORS = " \u00a0\u2007\u2009\u202f.\\-\u2010\u2011\u2013"
_DIGIT_RUN = re.compile(rf"\d+(?:[{_MASK_SEPARATORS}]{{1,3}}\d+)*")
_DIGIT_GROUP = re.compile(r"\d+")
_IDENTITY_DIGITS = 11

IDENTITY_FORMS: dict[str, Callable[[str], str]] = {
    "plain": lambda n: n,
    "spaced": lambda n: f"{n[:6]} {n[6:]}",
    "no-break-spaced": lambda n: f"{n[:6]}\u00a0{n[6:]}",
    "narrow-no-break-spaced": lambda n: f"{n[:6]}\u202f{n[6:]}",
    "hyphenated": lambda n: f"{n[:6]}-{n[6:]}",
}


@dataclass(frozen=True, slots=True)
class IdentityHit:
    kind: SensitiveKind
    start: int
    end: int


def _weighted_remainder(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11


def control_digits_valid(number: str) -> bool:
    """Both mod-11 control digits hold, by the old rule or by the 2032 rule."""
    if len(number) != 11 or not number.isdigit():
        return False
    return (
        _weighted_remainder(number[:10], K1_WEIGHTS) in K1_REMAINDERS_2032
        and _weighted_remainder(number, K2_WEIGHTS) == 0
    )


def identity_kind(number: str) -> SensitiveKind | None:
    """The kind of a valid identity number (date part and control digits), or None."""
    if not control_digits_valid(number):
        return None
    day, month, year = int(number[0:2]), int(number[2:4]), int(number[4:6])
    kind = SensitiveKind.FODSELSNUMMER
    if day > 40:
        day -= 40
        kind = SensitiveKind.DNUMMER
    if month > 40:
        if kind is SensitiveKind.DNUMMER:
            return None
        month -= 40
        kind = SensitiveKind.HNUMMER
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return None
    # The century is unknown (and, from 2032, not encoded): 29 February needs a leap year.
    if month == 2 and day == 29 and year % 4 != 0:
        return None
    return kind


def identity_numbers(text: str) -> Iterator[IdentityHit]:
    """Every valid identity number written in `text`, in any of its written forms."""
    for match in _CANDIDATE.finditer(text):
        kind = identity_kind(match.group(1) + match.group(2))
        if kind is not None:
            yield IdentityHit(kind=kind, start=match.start(), end=match.end())


def _maskable(groups: list[re.Match[str]]) -> bool:
    """Consecutive digit groups holding 11 digits: plain or 6 + 5 by one character, or valid."""
    if len(groups) == 1:
        return True
    first, second = groups[0], groups[-1]
    if len(groups) == 2 and len(first[0]) == 6 and second.start() - first.end() == 1:
        return True
    return identity_kind("".join(group[0] for group in groups)) is not None


def _identity_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where identity-number-like digits are written, left to right, never overlapping.

    Each run of digit groups is walked once; a candidate is at most 11 groups long, so the work
    is linear in the text.
    """
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_DIGIT_GROUP.finditer(text, run.start(), run.end()))
        start = 0
        while start < len(groups):
            digits, end = 0, start
            while end < len(groups) and digits < _IDENTITY_DIGITS:
                digits += len(groups[end][0])
                end += 1
            if digits == _IDENTITY_DIGITS and _maskable(groups[start:end]):
                yield groups[start].start(), groups[end - 1].end()
                start = end
            else:
                start += 1


def mask_identity_numbers(text: str, mask: str) -> str:
    """`text` with every identity-number-like run of digits replaced by `mask`."""
    pieces: list[str] = []
    done = 0
    for start, end in _identity_spans(text):
        pieces += (text[done:start], mask)
        done = end
    pieces.append(text[done:])
    return "".join(pieces)
