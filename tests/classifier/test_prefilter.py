"""The needle prefilter changes how fast mail is classified, never how: with it and without it
(every pattern run, as before it existed) each mail gets the same classification, and each
pattern list the same answer on every text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from schemas.vocab import MailClass
from services.classifier import features
from services.classifier.corpus import eml_files
from services.classifier.engine import Classifier
from services.classifier.mailbox import delivered_mailbox
from services.classifier.matching import Cue
from services.classifier.prefilter import NeedleIndex, alternatives, fold, may_match, needles
from services.classifier.ruleset import default_rules
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation, load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG
from tests.classifier.test_unseen_mail import CASES, build_mime
from tests.conftest import MIME_EDGE, SAMPLES

HERE = Path(__file__).parent
TEXT_FIELDS = ("text", "text_and", "not_text", "full_text", "full_text_and")


def corpus() -> Iterator[bytes]:
    """Every mail at hand: the labelled sets, the third-party MIME corpus, the unseen cases."""
    folders = [SAMPLES, HERE / "heldout", HERE / "blind"]
    if MIME_EDGE.is_dir():
        folders.append(MIME_EDGE)
    for path in eml_files(folders):
        yield path.read_bytes()
    for case in CASES:
        yield build_mime(case)


@cache
def cues() -> tuple[Cue, ...]:
    rules = default_rules()
    found = [
        Cue.of(patterns)
        for rule in rules.rules
        for name in TEXT_FIELDS
        if (patterns := getattr(rule.when, name))
    ]
    for vocabulary in rules.departments.vocabulary.values():
        found.extend(Cue.of([p]) for p in (*vocabulary.strong, *vocabulary.words))
    return tuple(found)


@cache
def corpus_texts() -> tuple[str, ...]:
    """The texts the rules read (own words and whole text) of every mail."""
    classifier = Classifier()
    org = load_organisation(DEFAULT_ORG_CONFIG)
    texts: set[str] = set()
    for raw in corpus():
        mail = parse_mail(raw)
        view = classifier.view(mail, delivered_mailbox(mail, org), org, None)
        texts.update((view.own_text, view.full_text))
    return tuple(sorted(texts))


def test_every_mail_is_classified_as_without_the_prefilter(
    org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    classifier = Classifier()
    mails = [parse_mail(raw) for raw in corpus()]
    threads = (None, *MailClass)

    def classify_all() -> list[object]:
        return [
            classifier.classify(mail, delivered_mailbox(mail, org), org, thread)
            for mail in mails
            for thread in threads
        ]

    fast = classify_all()
    # A text that cannot be folded has no needles, and every pattern runs on it: as before.
    monkeypatch.setattr(features, "fold", lambda _text: None)
    assert classify_all() == fast


def test_each_pattern_list_answers_as_its_alternation() -> None:
    texts = corpus_texts()
    # Upper case, and characters that `re` matches case-insensitively with a letter whose lower
    # case they do not have (long s, Kelvin sign, dotless i) or lower by context (sigma).
    variants = [*texts, *(t.upper() for t in texts)]
    variants += [t.replace("s", "ſ").replace("k", "\u212a").replace("i", "ı") for t in texts[:40]]
    variants += [t + " ΟΔΟΣ" for t in texts[:40]]
    index = NeedleIndex(n for cue in cues() for n in cue.all_needles)
    for text in variants:
        found = index.find(fold(text))
        for cue in cues():
            expected = cue.pattern.search(text) is not None
            assert cue.search(text, found) == expected, (cue.pattern.pattern, text)
            # (Where the alternation does not match, none of its alternatives does.)
            for branch in cue.branches if expected else ():
                if branch.pattern.search(text):
                    assert may_match(branch.needles, found), (branch.pattern.pattern, text)


def test_the_needle_index_finds_exactly_the_needles_in_a_text() -> None:
    index = NeedleIndex(n for cue in cues() for n in cue.all_needles)
    for text in corpus_texts():
        folded = fold(text)
        if folded is not None:
            assert index.find(folded) == frozenset(n for n in index.needles if n in folded)
    assert index.find(None) is None
    assert NeedleIndex([]).find("søknad") == frozenset()


def test_lower_casing_agrees_with_re_for_every_character_fold_accepts() -> None:
    """Whenever `re` matches a pattern character case-insensitively (as a literal or in a class)
    with a text character, and `fold` lower-cases both, it lower-cases them alike."""
    accepted = "".join(c for c in map(chr, range(0x110000)) if c != "\x00" and fold(c) is not None)
    rules = default_rules()
    pattern_chars = {
        char
        for rule in rules.rules
        for name in TEXT_FIELDS
        for pattern in getattr(rule.when, name)
        for char in pattern
        if fold(char) is not None
    }
    for vocabulary in rules.departments.vocabulary.values():
        for pattern in (*vocabulary.strong, *vocabulary.words):
            pattern_chars.update(c for c in pattern if fold(c) is not None)
    for char in sorted(pattern_chars):
        for form in (re.escape(char), f"[{re.escape(char)}\\x00]"):
            for match in re.finditer(form, accepted, re.IGNORECASE):
                assert match.group().lower() == char.lower(), (char, match.group())


def test_needles_of_patterns() -> None:
    flags = re.IGNORECASE
    assert needles(r"\bsøknad(en|a)?\b", flags) == frozenset({"søknad"})
    assert needles(r"\bklage (på|over)\b", flags) == frozenset({"klage på", "klage over"})
    assert needles(r"(?-i:\bFOI\b)", flags) == frozenset({"foi"})
    assert needles(r"(?<!\d)\bkid\b", flags) == frozenset({"kid"})
    assert needles(r"\d{2,4}[/-]\d+", flags) == frozenset({"/", "-"})
    assert needles(r"\b\d+\s?mg\b", flags) == frozenset({"mg"})
    # A pattern that can match without any fixed text rules nothing out.
    assert needles(r"\bsak\w*|\d+", flags) is None
    assert needles(r"(ab)?", flags) is None
    # Characters that lower-casing does not fold as `re` does are never needles.
    assert needles("ſak", flags) == frozenset({"ak"})


def test_alternatives_split_only_at_the_top_level() -> None:
    assert alternatives(r"a|(b|c)|[|]|\||[]|]x|[^]|]") == [
        "a",
        "(b|c)",
        "[|]",
        r"\|",
        "[]|]x",
        "[^]|]",
    ]
    assert alternatives(r"(?-i:A)|b") == ["(?-i:A)", "b"]
    # Back-references, conditionals, comments and verbose mode read across alternatives.
    for pattern in (r"(a)\1|b", r"(?P<x>a)(?P=x)|b", r"(a)?(?(1)b|c)", r"(?#a|b)c|d", "(?x) a | b"):
        assert alternatives(pattern) == [pattern]
