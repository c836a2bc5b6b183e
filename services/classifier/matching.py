"""Rules compiled into predicates over a `MailView`.

Each condition field becomes one small check, the cheap ones first, and each pattern list one
compiled alternation, so that a mail is judged in well under a millisecond. The body patterns'
needle checks (see `prefilter`) come before any pattern runs: a rule whose `text_and` cannot
match then costs no scan for its `text` either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from services.classifier.features import MailView
from services.classifier.prefilter import Needles, alternatives, either, may_match, needles
from services.classifier.ruleset import Condition, Rule

Check = Callable[[MailView, Collection[str]], bool]


def union(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class _Branch:
    pattern: re.Pattern[str]
    needles: Needles | None


@dataclass(frozen=True, slots=True)
class Cue:
    """A list of text patterns: one alternation with the needles that rule it out cheaply, and
    its top-level alternatives each with their own needles, so that only those that may match
    are run."""

    pattern: re.Pattern[str]
    needles: Needles | None
    branches: tuple[_Branch, ...]

    @classmethod
    def of(cls, patterns: list[str]) -> Cue:
        pattern = union(patterns)
        parts = [re.compile(part, pattern.flags) for p in patterns for part in alternatives(p)]
        part_needles = [needles(part.pattern, part.flags) for part in parts]
        # A lone alternative's needles are the whole cue's, checked already.
        branches = tuple(
            _Branch(part, found if len(parts) > 1 else None)
            for part, found in zip(parts, part_needles, strict=True)
        )
        return cls(pattern, either(part_needles), branches)

    @property
    def all_needles(self) -> Needles:
        """Every needle this cue checks: what the `NeedleIndex` of its texts must hold."""
        sets = [self.needles, *(branch.needles for branch in self.branches)]
        return frozenset(needle for found in sets if found is not None for needle in found)

    def may_match(self, found: Needles | None) -> bool:
        return may_match(self.needles, found)

    def search(self, text: str, found: Needles | None) -> bool:
        """Whether any pattern matches `text`; `found` are the needles found in it (None when it
        could not be folded, see `prefilter.fold`)."""
        if found is None:
            return self.pattern.search(text) is not None
        if not may_match(self.needles, found):
            return False
        for branch in self.branches:
            if may_match(branch.needles, found) and branch.pattern.search(text) is not None:
                return True
        return False


def _search(pattern: re.Pattern[str], field: Callable[[MailView], str]) -> Check:
    return lambda view, _topics: pattern.search(field(view)) is not None


def _own_text(view: MailView) -> str:
    return view.own_text


def _own_needles(view: MailView) -> Needles | None:
    return view.own_needles


def _full_text(view: MailView) -> str:
    return view.full_text


def _full_needles(view: MailView) -> Needles | None:
    return view.full_needles


# Rule fields that read a body text: (field, whether it must match, text, needles found in it).
_TEXT_FIELDS: tuple[
    tuple[str, bool, Callable[[MailView], str], Callable[[MailView], Needles | None]], ...
] = (
    ("text", True, _own_text, _own_needles),
    ("text_and", True, _own_text, _own_needles),
    ("not_text", False, _own_text, _own_needles),
    ("full_text", True, _full_text, _full_needles),
    ("full_text_and", True, _full_text, _full_needles),
)


def _gate(cue: Cue, found: Callable[[MailView], Needles | None]) -> Check:
    return lambda view, _topics: cue.may_match(found(view))


def _matches(
    cue: Cue, text: Callable[[MailView], str], found: Callable[[MailView], Needles | None]
) -> Check:
    return lambda view, _topics: cue.search(text(view), found(view))


def _misses(
    cue: Cue, text: Callable[[MailView], str], found: Callable[[MailView], Needles | None]
) -> Check:
    return lambda view, _topics: not cue.search(text(view), found(view))


def _cheap_checks(when: Condition) -> list[Check]:
    checks: list[Check] = []
    if when.mailbox:
        kinds = frozenset(when.mailbox)
        checks.append(lambda v, _t: v.mailbox_kind in kinds)
    if when.mailbox_department:
        departments = frozenset(when.mailbox_department)
        checks.append(lambda v, _t: v.mailbox_department in departments)
    if when.sender_kind:
        wanted = frozenset(when.sender_kind)
        checks.append(lambda v, _t: not wanted.isdisjoint(v.sender_kinds))
    if when.not_sender_kind:
        unwanted = frozenset(when.not_sender_kind)
        checks.append(lambda v, _t: unwanted.isdisjoint(v.sender_kinds))
    if when.reply is not None:
        reply = when.reply
        checks.append(lambda v, _t: v.is_reply == reply)
    if when.forward is not None:
        forward = when.forward
        checks.append(lambda v, _t: v.is_forward == forward)
    if when.reply_to_foreign is not None:
        foreign = when.reply_to_foreign
        checks.append(lambda v, _t: v.reply_to_foreign == foreign)
    if when.thread_class:
        classes = frozenset(when.thread_class)
        checks.append(lambda v, _t: v.thread_class in classes)
    if when.min_attachments is not None:
        least = when.min_attachments
        checks.append(lambda v, _t: len(v.attachment_names) >= least)
    if when.min_words is not None:
        fewest = when.min_words
        checks.append(lambda v, _t: v.own_word_count >= fewest)
    if when.max_words is not None:
        most = when.max_words
        checks.append(lambda v, _t: v.own_word_count <= most)
    if when.identity_number is not None:
        present = when.identity_number
        checks.append(lambda v, _t: bool(v.identity_hits) == present)
    if when.topics:
        needed = frozenset(when.topics)
        checks.append(lambda _v, t: not needed.isdisjoint(t))
    if when.not_topics:
        barred = frozenset(when.not_topics)
        checks.append(lambda _v, t: barred.isdisjoint(t))
    return checks


def _header_check(headers: dict[str, str]) -> Check:
    compiled = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in headers.items()}

    def check(view: MailView, _topics: Collection[str]) -> bool:
        for name, pattern in compiled.items():
            for value in view.headers.get(name, ()):
                if pattern.search(value):
                    return True
        return False

    return check


@dataclass(frozen=True, slots=True)
class _TextCue:
    cue: Cue
    must_match: bool
    text: Callable[[MailView], str]
    found: Callable[[MailView], Needles | None]


def _text_cues(when: Condition) -> list[_TextCue]:
    cues: list[_TextCue] = []
    for name, must_match, text, found in _TEXT_FIELDS:
        patterns: list[str] = getattr(when, name)
        if patterns:
            cues.append(_TextCue(Cue.of(patterns), must_match, text, found))
    return cues


def _gates(cues: list[_TextCue]) -> list[Check]:
    """Needle checks of the body patterns that must match, before any pattern of the rule runs:
    a set lookup each, and each one that fails spares every scan."""
    return [_gate(c.cue, c.found) for c in cues if c.must_match and c.cue.needles is not None]


def _text_checks(when: Condition, cues: list[_TextCue]) -> list[Check]:
    checks: list[Check] = []
    if when.headers:
        checks.append(_header_check(when.headers))
    if when.sender_name:
        checks.append(_search(union(when.sender_name), lambda v: v.sender_name))
    if when.attachment_name:
        names = union(when.attachment_name)
        checks.append(lambda v, _t: any(names.search(n) for n in v.attachment_names))
    if when.subject:
        checks.append(_search(union(when.subject), lambda v: v.subject))
    for c in cues:
        checks.append(
            _matches(c.cue, c.text, c.found) if c.must_match else _misses(c.cue, c.text, c.found)
        )
    return checks


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    checks: tuple[Check, ...]
    needles: Needles  # what the views it judges must have looked for (see NeedleIndex)

    def fires(self, view: MailView, topics: Collection[str]) -> bool:
        return all(check(view, topics) for check in self.checks)


def compile_rule(rule: Rule) -> CompiledRule:
    when = rule.when
    cues = _text_cues(when)
    return CompiledRule(
        rule=rule,
        checks=(*_cheap_checks(when), *_gates(cues), *_text_checks(when, cues)),
        needles=frozenset(n for c in cues for n in c.cue.all_needles),
    )
