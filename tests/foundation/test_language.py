"""One set of language codes and one fallback for every text a person reads (nynorsk first)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from sakspost import texts as cli_texts
from services.common.language import (
    LANGUAGES,
    in_language,
    language_named,
    language_of_the_command_line,
)
from services.ingest.personal import texts as personal_texts
from services.notifier import texts as notifier_texts


@pytest.mark.parametrize(
    ("code", "expected"), [("nb", "nb"), ("en", "en"), ("de", "nn"), (None, "nn")]
)
def test_an_unknown_language_is_nynorsk(code: str | None, expected: str) -> None:
    assert language_named(code) == expected


def test_a_text_missing_in_a_language_is_said_in_nynorsk() -> None:
    assert in_language({"nn": "hei", "en": "hello"}, "nb") == "hei"
    assert in_language({"nn": "hei", "en": "hello"}, "en") == "hello"


@pytest.mark.parametrize(
    "table",
    [notifier_texts.PHRASES, notifier_texts.ALERT_KIND_NAMES, personal_texts.PHRASES],
    ids=["notifier", "alert kinds", "personal mailboxes"],
)
def test_every_language_has_every_text(table: Mapping[str, Mapping[object, str]]) -> None:
    assert set(table) == set(LANGUAGES)
    assert all(table[language].keys() == table["nn"].keys() for language in LANGUAGES)


def test_the_command_line_texts_are_in_every_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAKSPOST_LANGUAGE", "xx")
    assert language_of_the_command_line() == "nn"
    assert cli_texts.text("all_ready") == "alt er klart"
