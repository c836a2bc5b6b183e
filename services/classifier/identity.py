"""Which identity numbers in free text the classifier reports as sensitive (R2).

The numbers themselves are recognised by `services.common.idnumbers`. A bank account number is also
11 digits, and its control digit uses the same weights as the second identity control digit, so
some account numbers pass every identity check. They are told apart by how they are written: the
4-2-5 grouping ("3207 44 18290", "3207.44.18290") is never matched, and a plain number whose
nearest label is an account, KID, order or invoice word is not an identity number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from services.common.idnumbers import IdentityHit, identity_numbers


class IdentityNumberFinder:
    """Finds identity numbers, skipping numbers labelled as account, KID, order or the like."""

    def __init__(
        self,
        identity_labels: Iterable[str],
        other_number_labels: Iterable[str],
        label_window: int = 40,
    ) -> None:
        identity = "|".join(f"(?:{p})" for p in identity_labels)
        other = "|".join(f"(?:{p})" for p in other_number_labels)
        self._labels = re.compile(f"(?P<identity>{identity})|(?P<other>{other})", re.IGNORECASE)
        self._window = label_window

    def _labelled_as_other_number(self, text: str, start: int) -> bool:
        before = text[max(0, start - self._window) : start]
        nearest = None
        for match in self._labels.finditer(before):
            nearest = match
        return nearest is not None and nearest.group("other") is not None

    def find(self, text: str) -> list[IdentityHit]:
        return [
            hit
            for hit in identity_numbers(text)
            if not self._labelled_as_other_number(text, hit.start)
        ]
