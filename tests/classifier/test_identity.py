"""Identity-number detectors (R2): mod-11 control digits by the old rule and the 2032 rule,
every written form, and bank account numbers told apart (docs/design.md, "Norwegian identity
numbers"); what the detector finds, the log redaction and the journal titles mask."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schemas.vocab import SensitiveKind
from services.classifier.engine import Classifier
from services.common.idnumbers import (
    IDENTITY_FORMS,
    K1_WEIGHTS,
    K2_WEIGHTS,
    control_digits_valid,
    identity_kind,
    mask_identity_numbers,
)
from services.common.logging import ID_NUMBER_MASK, Redactor
from services.websak.titles import MASK, journalpost_title

FINDER = Classifier().identity_finder
K1_BASE = K1_WEIGHTS[:9]
K2_BASE = K2_WEIGHTS[:10]
ACCOUNT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _control(digits: str, weights: tuple[int, ...], remainder: int = 0) -> int | None:
    """The control digit that leaves `remainder` (0 before 2032; 0-3 from 2032), or None (10)."""
    digit = (remainder - sum(int(d) * w for d, w in zip(digits, weights, strict=True))) % 11
    return None if digit == 10 else digit


def _number(base: str, k1_remainder: int) -> str | None:
    k1 = _control(base, K1_BASE, k1_remainder)
    if k1 is None:
        return None
    k2 = _control(base + str(k1), K2_BASE)
    return None if k2 is None else f"{base}{k1}{k2}"


@st.composite
def identity_numbers(draw: st.DrawFn, rule_2032: bool) -> tuple[str, SensitiveKind]:
    birth = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2039, 12, 31)))
    kind = draw(st.sampled_from(list(SensitiveKind)[:3]))
    day = birth.day + (40 if kind is SensitiveKind.DNUMMER else 0)
    month = birth.month + (40 if kind is SensitiveKind.HNUMMER else 0)
    individual = draw(st.integers(min_value=0, max_value=999))
    base = f"{day:02d}{month:02d}{birth.year % 100:02d}{individual:03d}"
    remainder = draw(st.sampled_from([1, 2, 3])) if rule_2032 else 0
    number = _number(base, remainder)
    assume(number is not None)
    assert number is not None
    return number, kind


@pytest.mark.parametrize("number", ["02013299997", "30108299920", "30108299939"])
def test_skatteetaten_2032_examples_are_valid(number: str) -> None:
    assert control_digits_valid(number)
    assert identity_kind(number) is SensitiveKind.FODSELSNUMMER


@settings(max_examples=300, deadline=None)
@given(identity_numbers(rule_2032=False), st.sampled_from(sorted(IDENTITY_FORMS)), st.booleans())
def test_every_old_rule_number_in_every_form_is_found(
    drawn: tuple[str, SensitiveKind], form: str, labelled: bool
) -> None:
    number, kind = drawn
    written = IDENTITY_FORMS[form](number)
    text = f"Fødselsnummer: {written}." if labelled else f"Søkjar {written} bur på Nærbø."
    assert [hit.kind for hit in FINDER.find(text)] == [kind]


@settings(max_examples=300, deadline=None)
@given(identity_numbers(rule_2032=True), st.sampled_from(sorted(IDENTITY_FORMS)))
def test_every_2032_rule_number_in_every_form_is_found(
    drawn: tuple[str, SensitiveKind], form: str
) -> None:
    number, kind = drawn
    assert [hit.kind for hit in FINDER.find(f"d-nr/fnr {IDENTITY_FORMS[form](number)}")] == [kind]


@settings(max_examples=300, deadline=None)
@given(
    identity_numbers(rule_2032=False),
    st.integers(min_value=9, max_value=10),
    st.integers(min_value=1, max_value=9),
)
def test_a_wrong_control_digit_is_never_found(
    drawn: tuple[str, SensitiveKind], position: int, shift: int
) -> None:
    number, _kind = drawn
    digits = list(number)
    digits[position] = str((int(digits[position]) + shift) % 10)
    wrong = "".join(digits)
    # A changed control digit can only pass by landing on another accepted 2032 remainder.
    assume(not control_digits_valid(wrong))
    for form in IDENTITY_FORMS.values():
        assert FINDER.find(f"Fødselsnummer: {form(wrong)}") == []


@st.composite
def account_numbers_passing_identity_rules(draw: st.DrawFn) -> str:
    """Valid bank account numbers (mod-11, same weights as the second identity control digit)
    that also pass every identity check: the hard case."""
    number = draw(identity_numbers(rule_2032=draw(st.booleans())))[0]
    assert _control(number[:10], ACCOUNT_WEIGHTS) == int(number[10])
    return number


ACCOUNT_FORMS = [
    lambda n: f"{n[:4]} {n[4:6]} {n[6:]}",
    lambda n: f"{n[:4]}.{n[4:6]}.{n[6:]}",
    lambda n: f"Kontonr. {n}",
    lambda n: f"Beløpet kan overførast til konto {n} innan fredag.",
    lambda n: f"Kontonummer: {n[:6]} {n[6:]}",
    lambda n: f"Account number {n}",
    lambda n: f"KID {n}",
    lambda n: f"Bankkonto: {n[:4]} {n[4:6]} {n[6:]}",
]


@settings(max_examples=300, deadline=None)
@given(account_numbers_passing_identity_rules(), st.sampled_from(range(len(ACCOUNT_FORMS))))
def test_account_numbers_written_as_account_numbers_are_not_found(number: str, form: int) -> None:
    assert FINDER.find(f"Refusjon til: {ACCOUNT_FORMS[form](number)}") == []


def test_nearest_label_decides() -> None:
    fnr = "03052197693"
    assert FINDER.find(f"Kontonr. 3207 44 18290, fødselsnummer {fnr}") != []
    assert FINDER.find(f"Fødselsnummer står i skjemaet; kontonummer {fnr}") == []


@pytest.mark.parametrize(
    "text",
    [
        "Organisasjonsnummer 988 077 917",
        "Ring 952 31 806 eller +47 22 00 41 80",
        "Ordrenummer 15038765028 er sendt",
        "Sporingsnummer 370712945818820471",
        "KID 00260044170048",
        "Saksnummer 2026/004417",
        "Telefon 12345678901",
        "31.02.1999 er ingen dato, og heller ikkje 31029912345",
    ],
)
def test_other_numbers_are_not_identity_numbers(text: str) -> None:
    assert FINDER.find(text) == []


@settings(max_examples=300, deadline=None)
@given(
    st.booleans().flatmap(lambda rule_2032: identity_numbers(rule_2032=rule_2032)),
    st.sampled_from(sorted(IDENTITY_FORMS)),
    st.sampled_from(["Søkjar {} bur på Nærbø", "fnr:{}", "({})", "Kontonummer: {}"]),
)
def test_logs_and_journal_titles_mask_every_number_in_every_form(
    drawn: tuple[str, SensitiveKind], form: str, context: str
) -> None:  # R2, R3
    written = IDENTITY_FORMS[form](drawn[0])
    text = context.format(written)
    # Masking ignores labels: even a number the detector leaves as an account number is masked.
    masked_text = context.format(ID_NUMBER_MASK)
    assert Redactor().redact(text) == masked_text
    title = journalpost_title(text, sensitive=False)
    assert title == context.format(MASK)
    assert not any(digit in title for digit in drawn[0][6:])


NEAR_NUMBERS = st.text(alphabet="0123456789 .-\u00a0\u202fa:", max_size=12)


@settings(max_examples=500, deadline=None)
@given(
    NEAR_NUMBERS,
    identity_numbers(rule_2032=False),
    st.sampled_from(sorted(IDENTITY_FORMS)),
    NEAR_NUMBERS,
)
def test_nothing_the_detector_finds_survives_masking(
    before: str, drawn: tuple[str, SensitiveKind], form: str, after: str
) -> None:  # R2
    """A number among arbitrary digits and separators: after masking, the detector finds none."""
    text = before + IDENTITY_FORMS[form](drawn[0]) + after
    assert FINDER.find(mask_identity_numbers(text, "#")) == []
    assert FINDER.find(Redactor().redact(text)) == []
    assert FINDER.find(journalpost_title(text, sensitive=False)) == []
