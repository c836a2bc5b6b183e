"""Outlook category names as Outlook compares them: ignoring case, each name once on a message."""

from __future__ import annotations

from collections.abc import Iterable


def category_key(name: str) -> str:
    """What two category names share when Outlook takes them for the same category."""
    return name.casefold()


def same_categories(left: Iterable[str], right: Iterable[str]) -> bool:
    """Whether two lists of categories show the same categories in Outlook (order, case aside)."""
    return {category_key(c) for c in left} == {category_key(c) for c in right}
