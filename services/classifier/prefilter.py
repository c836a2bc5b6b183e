"""Needle checks that rule a regular expression out before it runs.

Most content rules do not hold for most mail, yet each costs a scan of the whole text in which
`re` tries every alternative at every position (its own skip-ahead does not work for
case-insensitive patterns that start with `\\b`). From each pattern we derive a few lower-cased
strings of which every match contains at least one ("needles"). One pass over the lower-cased
text finds which of all the rules' needles it holds (`NeedleIndex`); a pattern none of whose
needles is there cannot match and is not run. A pattern that may match runs as before, so
results are the same by construction.

That argument needs lower-casing to agree with how `re` compares characters under IGNORECASE,
which holds for every character but a few (dotless i, long s, the micro sign, final sigma, a
dotted capital I …). A text holding one of those is not folded (`fold` returns None), and no
needle holds one: then every pattern simply runs.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

with warnings.catch_warnings():
    # `sre_parse` is the typed name of `re._parser`, the parser `re.compile` itself runs; only
    # the alias is deprecated.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_parse

# A needle set that would grow past this many strings is not worth checking.
MAX_NEEDLES = 128
# Needles this long seldom occur by chance; past that, fewer needles are better (measured on
# samples/: shorter or longer thresholds classify more slowly).
SELECTIVE_LENGTH = 8

Needles = frozenset[str]


def _is_safe_char(char: str) -> bool:
    """Lower-casing this character gives what `re` compares it as under IGNORECASE: one
    character, the same as its upper case's lower case (not so for ı, ſ, µ, ς, İ, ß, ﬁ …)."""
    lower = char.lower()
    return len(lower) == 1 and lower == char.upper().lower()


@cache
def _folds_safely(char: str) -> bool:
    """The character and its lower case are safe, whatever surrounds it: "Σ" is the one
    character that `str.lower` lowers by context (to "ς" at the end of a word)."""
    return char != "Σ" and _is_safe_char(char) and _is_safe_char(char.lower())


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def fold(text: str) -> str | None:
    """The text lower-cased for needle checks, or None when lower-casing may disagree with `re`."""
    if not text.isascii() and not all(map(_folds_safely, set(_NON_ASCII.findall(text)))):
        return None
    return text.lower()


@dataclass(frozen=True, slots=True)
class _Facts:
    """What every match of a piece of pattern looks like, lower-cased: `exact` is the set of
    strings it can match (None: unknown or too many), `needles` a set of which it contains one
    (None: nothing useful)."""

    exact: Needles | None
    needles: Needles | None


_REPEATS = (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT)
_EMPTY = _Facts(exact=frozenset({""}), needles=None)
_UNKNOWN = _Facts(exact=None, needles=None)


def _literal(code: object) -> Needles | None:
    if not isinstance(code, int):
        return None
    char = chr(code)
    return frozenset({char.lower()}) if _folds_safely(char) else None


def _charset(items: object) -> Needles | None:
    """A set of plain characters, such as [ \\xa0]; anything else (ranges, classes, negation)
    is unknown."""
    if not isinstance(items, list):
        return None
    chars: set[str] = set()
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and item[0] is sre_parse.LITERAL):
            return None
        literal = _literal(item[1])
        if literal is None:
            return None
        chars |= literal
    return frozenset(chars)


def _useful(needles: Needles | None) -> Needles | None:
    """`needles` without those that contain another (finding "søknaden" finds "søknad"), or
    None when they cannot rule anything out or are too many to be worth checking."""
    if needles is None or "" in needles:
        return None
    shortest_first = sorted(needles, key=len)
    kept: list[str] = []
    for needle in shortest_first:
        if not any(other in needle for other in kept):
            kept.append(needle)
    return frozenset(kept) if len(kept) <= MAX_NEEDLES else None


def _better(first: Needles | None, second: Needles | None) -> Needles | None:
    """The better of two needle sets to rule a pattern out with: needles long enough to be
    selective, then as few as possible, then as long as possible."""
    if first is None or second is None:
        return first if second is None else second

    def rank(needles: Needles) -> tuple[int, int, int]:
        shortest = min(map(len, needles))
        return min(SELECTIVE_LENGTH, shortest), -len(needles), shortest

    return first if rank(first) >= rank(second) else second


def _sequence(items: list[object] | None) -> _Facts:
    """Pieces matched one after another: a run of pieces with known strings gives their
    concatenations, and any one run or piece with needles gives needles for the whole."""
    if items is None:
        return _UNKNOWN
    run: Needles = frozenset({""})
    all_exact = True
    best: Needles | None = None
    for item in items:
        facts = _node(item)
        best = _better(best, facts.needles)
        # Run on by one more character or string, the run is as many needles, only longer:
        # only a run about to branch out or end is worth ranking.
        if facts.exact is None or len(facts.exact) > 1:
            best = _better(best, _useful(run))
        if facts.exact is not None:
            product = frozenset(a + b for a in run for b in facts.exact)
            if len(product) <= MAX_NEEDLES:
                run = product
                continue
        all_exact = False
        run = facts.exact if facts.exact is not None else frozenset({""})
    best = _better(best, _useful(run))
    return _Facts(exact=run if all_exact else None, needles=best)


def _branch(alternatives: Sequence[object]) -> _Facts:
    exact: set[str] | None = set()
    needles: set[str] | None = set()
    for alternative in alternatives:
        facts = _sequence(_items(alternative))
        exact = None if exact is None or facts.exact is None else exact | facts.exact
        needles = None if needles is None or facts.needles is None else needles | facts.needles
    frozen_exact = None if exact is None or len(exact) > MAX_NEEDLES else frozenset(exact)
    return _Facts(
        exact=frozen_exact, needles=_useful(frozenset(needles) if needles is not None else None)
    )


def _items(sub: object) -> list[object] | None:
    """The pieces of a parsed (sub)pattern; None for a shape this module does not know, which
    then yields no needles."""
    if isinstance(sub, sre_parse.SubPattern):
        return list(sub.data)
    return None


def _node(item: object) -> _Facts:
    if not (isinstance(item, tuple) and len(item) == 2):
        return _UNKNOWN
    op, av = item
    if op is sre_parse.LITERAL:
        literal = _literal(av)
        return _Facts(exact=literal, needles=literal) if literal is not None else _UNKNOWN
    if op is sre_parse.IN:
        chars = _charset(av)
        return _Facts(exact=chars, needles=chars) if chars is not None else _UNKNOWN
    if op is sre_parse.AT or op is sre_parse.ASSERT or op is sre_parse.ASSERT_NOT:
        # Zero-width: matches the empty string where it matches at all.
        return _EMPTY
    if op is sre_parse.SUBPATTERN and isinstance(av, tuple) and len(av) == 4:
        return _sequence(_items(av[3]))
    if (
        op is sre_parse.BRANCH
        and isinstance(av, tuple)
        and len(av) == 2
        and isinstance(av[1], list)
    ):
        return _branch(av[1])
    if op in _REPEATS and isinstance(av, tuple) and len(av) == 3:
        least, most, body = av
        inner = _sequence(_items(body))
        if least == 0 and most == 1 and inner.exact is not None:
            return _Facts(exact=inner.exact | {""}, needles=None)
        if least == 1 and most == 1:
            return inner
        return _Facts(exact=None, needles=inner.needles if least >= 1 else None)
    return _UNKNOWN


def either(needle_sets: Iterable[Needles | None]) -> Needles | None:
    """Needles for a pattern that matches where any of some patterns does, from theirs."""
    found: set[str] = set()
    for needle_set in needle_sets:
        if needle_set is None:
            return None
        found |= needle_set
    return _useful(frozenset(found))


def needles(pattern: str, flags: int = 0) -> Needles | None:
    """Lower-cased strings of which every match of `pattern` contains one, or None when no
    useful set can be derived (the pattern must then always run)."""
    return _sequence(_items(sre_parse.parse(pattern, flags))).needles


# What makes a part's meaning depend on the rest of the pattern (back-references and
# conditionals count groups across alternatives, global flags apply to all of it) or hides
# parentheses (comments, verbose mode).
_NOT_SPLITTABLE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(|\(\?#|\(\?[aiLmsu-]*x|\(\?[aiLmsu]+\)")


def alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of `pattern` ("a|(b|c)" -> ["a", "(b|c)"]): searching for the
    pattern finds a match exactly when searching for one of them does, and each has its own,
    fewer needles. A pattern that this cannot split safely comes back whole."""
    if _NOT_SPLITTABLE.search(pattern):
        return [pattern]
    parts: list[str] = []
    depth = 0
    start = 0
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A "]" first in a class (after an optional "^") is a literal, not its end.
            if pattern.startswith("^", index + 1):
                index += 1
            if pattern.startswith("]", index + 1):
                index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return parts if depth == 0 and not in_class else [pattern]


@dataclass(slots=True)
class _TrieNode:
    children: dict[str, _TrieNode] = field(default_factory=dict)
    ends_needle: bool = False

    def pattern(self) -> str:
        """A regular expression that matches the longest needle below this node that starts
        where it is tried, in a few character comparisons per position however many needles
        there are."""
        branches = [
            re.escape(char) + child.pattern() for char, child in sorted(self.children.items())
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Where a needle ends, a longer one is tried first (greedy `?`).
        return f"(?:{body})?" if self.ends_needle else body


class NeedleIndex:
    """Which of a fixed set of needles a folded text contains, all found in one pass: a search
    per needle would cost hundreds of scans of the text per mail."""

    def __init__(self, needles: Iterable[str]) -> None:
        self.needles: Needles = frozenset(n for n in needles if n)
        root = _TrieNode()
        for needle in self.needles:
            node = root
            for char in needle:
                node = node.children.setdefault(char, _TrieNode())
            node.ends_needle = True
        # A zero-width look-ahead, so that a match is tried at every position.
        self._pattern = re.compile(f"(?=({root.pattern()}))") if self.needles else None
        # Needles that start where a longer one does are its prefixes: the longest one found at
        # a position names all of them.
        self._prefixes = {
            needle: frozenset(
                needle[:end] for end in range(1, len(needle) + 1) if needle[:end] in self.needles
            )
            for needle in self.needles
        }

    def find(self, folded: str | None) -> Needles | None:
        """The needles that occur in `folded` (as `fold` gives it; None stays None)."""
        if folded is None:
            return None
        if self._pattern is None:
            return frozenset()
        longest = set(self._pattern.findall(folded))
        return frozenset().union(*(self._prefixes[needle] for needle in longest))


def may_match(needles: Needles | None, found: Needles | None) -> bool:
    """False only when the pattern `needles` come from cannot match the text in which
    `NeedleIndex.find` found `found` (an index that holds all of `needles`)."""
    return needles is None or found is None or not needles.isdisjoint(found)
