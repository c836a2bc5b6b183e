"""Rules compiled into predicates over a `MailView`.

Each condition field becomes one small check, the cheap ones first, and each pattern list one
compiled alternation, so that a mail is judged in well under a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from services.classifier.features import MailView
from services.classifier.ruleset import Condition, Rule

Check = Callable[[MailView, Collection[str]], bool]


def union(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE | re.MULTILINE)


def _search(pattern: re.Pattern[str], field: Callable[[MailView], str]) -> Check:
    return lambda view, _topics: pattern.search(field(view)) is not None


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


def _text_checks(when: Condition) -> list[Check]:
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
    for patterns in (when.text, when.text_and):
        if patterns:
            checks.append(_search(union(patterns), lambda v: v.own_text))
    if when.not_text:
        barred = union(when.not_text)
        checks.append(lambda v, _t: barred.search(v.own_text) is None)
    for patterns in (when.full_text, when.full_text_and):
        if patterns:
            checks.append(_search(union(patterns), lambda v: v.full_text))
    return checks


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    checks: tuple[Check, ...]

    def fires(self, view: MailView, topics: Collection[str]) -> bool:
        return all(check(view, topics) for check in self.checks)


def compile_rule(rule: Rule) -> CompiledRule:
    return CompiledRule(rule=rule, checks=(*_cheap_checks(rule.when), *_text_checks(rule.when)))
