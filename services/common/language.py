"""The languages Sakspost speaks to people (nynorsk, bokmål, English), and how a text is looked up.

Nynorsk is Hå kommune's written language: it is the default, and the fallback wherever a language is
unknown or a text has no translation. The texts themselves stay with the service that says them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, TypeVar, get_args

Language = Literal["nn", "nb", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "nn"

T = TypeVar("T")


def language_named(code: str | None) -> Language:
    """A language code as given (an environment variable, an option); nynorsk if not ours."""
    return next((known for known in LANGUAGES if known == code), DEFAULT_LANGUAGE)


def in_language(by_language: Mapping[Language, T], language: Language) -> T:
    """What `by_language` holds for `language`, or for nynorsk when it holds nothing for it."""
    return by_language.get(language, by_language[DEFAULT_LANGUAGE])


def language_of_the_command_line() -> Language:
    """The language of command-line output: `SAKSPOST_LANGUAGE`, which `--lang` sets."""
    return language_named(os.environ.get("SAKSPOST_LANGUAGE"))
