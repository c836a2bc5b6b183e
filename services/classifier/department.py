"""Which department a mail belongs to (R5, R8).

Mail to a department's own address belongs to that department, private mail too. Mail to the
common mailbox of a kind the rule file's `deciding_topics` names (a job application: staff
matters are stab's, whatever the post) goes to that department. Other mail to the common mailbox
goes to the department that is clearly most likely, else it stays in the common mailbox. Likely
is the sum of three kinds of evidence: the rule file's vocabulary and topics, the `words` the
organisation file gives each department, and the model's department probability (learnt from
real journal titles, labelled mail and the departments' `tasks`). Mail to a personal mailbox
belongs to the owner's department (the one the evidence favours, when the owner works in
several); truly private mail goes to the common one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from schemas.vocab import MailClass
from services.classifier.features import MailView
from services.classifier.matching import Cue
from services.classifier.prefilter import Needles
from services.classifier.ruleset import Departments
from services.common.orgconfig import Organisation

STRONG_WEIGHT = 2.0
WORD_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class DepartmentChoice:
    department: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    strong: tuple[Cue, ...]
    words: tuple[Cue, ...]

    def score(self, text: str, found: Needles | None) -> float:
        strong = sum(STRONG_WEIGHT for cue in self.strong if cue.search(text, found))
        return strong + sum(WORD_WEIGHT for cue in self.words if cue.search(text, found))


def _staff_departments(org: Organisation, mailbox: str) -> list[str]:
    member = org.staff_by_email(mailbox)
    if member is None:
        return []
    return [
        key
        for key, department in org.departments.items()
        if member.id in department.caseworkers or member.id in department.supervisors
    ]


_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _OrgWords:
    single: frozenset[str]  # one-token words, casefolded
    phrases: tuple[tuple[str, re.Pattern[str]], ...]  # (first token, whole-phrase pattern)


@lru_cache(maxsize=256)
def _org_words(words: tuple[str, ...]) -> _OrgWords:
    # A department may list a hundred words: one-token words are a set lookup against the text's
    # tokens (the same whole-word, any-case match as a pattern, at a fraction of the time), and a
    # phrase's pattern runs only where its first token occurs.
    single = frozenset(w.casefold() for w in words if _TOKEN.fullmatch(w))
    phrases = tuple(
        (
            _TOKEN.findall(w.casefold())[0],
            re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.IGNORECASE),
        )
        for w in words
        if not _TOKEN.fullmatch(w) and _TOKEN.search(w)
    )
    return _OrgWords(single, phrases)


@lru_cache(maxsize=16)
def _tokens(text: str) -> frozenset[str]:
    return frozenset(_TOKEN.findall(text.casefold()))


def org_word_hits(text: str, words: Iterable[str]) -> int:
    """How many of an organisation file's words occur in the text as whole words, any case."""
    compiled = _org_words(tuple(words))
    tokens = _tokens(text)
    return len(compiled.single & tokens) + sum(
        1 for first, pattern in compiled.phrases if first in tokens and pattern.search(text)
    )


class DepartmentRouter:
    def __init__(self, config: Departments) -> None:
        self._config = config
        self._vocabulary = {
            key: _Vocabulary(
                strong=tuple(Cue.of([p]) for p in vocabulary.strong),
                words=tuple(Cue.of([p]) for p in vocabulary.words),
            )
            for key, vocabulary in config.vocabulary.items()
        }

    @property
    def needles(self) -> Needles:
        """What the views it scores must have looked for (see NeedleIndex)."""
        return frozenset(
            needle
            for vocabulary in self._vocabulary.values()
            for cue in (*vocabulary.strong, *vocabulary.words)
            for needle in cue.all_needles
        )

    def scores(
        self,
        view: MailView,
        topics: Collection[str],
        candidates: Iterable[str],
        org: Organisation,
        model: Mapping[str, float],
    ) -> dict[str, float]:
        scores: dict[str, float] = {}
        for key in candidates:
            vocabulary = self._vocabulary.get(key)
            scores[key] = vocabulary.score(view.own_text, view.own_needles) if vocabulary else 0.0
            words = org.departments[key].words if key in org.departments else []
            scores[key] += self._config.org_word_weight * org_word_hits(view.own_text, words)
            scores[key] += self._config.model_weight * model.get(key, 0.0)
        for topic in topics:
            department = self._config.topics.get(topic)
            if department in scores:
                scores[department] += self._config.topic_weight
        return scores

    def _deciding(self, topics: Collection[str], org: Organisation) -> str | None:
        """The department a deciding topic names (the first in the rule file's order), where the
        organisation has it."""
        for topic, department in self._config.deciding_topics.items():
            if topic in topics and department in org.departments:
                return department
        return None

    def _clear_leader(self, scores: dict[str, float]) -> str | None:
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        if not ranked or ranked[0][1] < self._config.min_score:
            return None
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        lead = ranked[0][1] - runner_up
        # A tie is never a clear lead, whatever the margin: the order of the file would pick.
        return ranked[0][0] if lead > 0 and lead >= self._config.margin else None

    def choose(
        self,
        view: MailView,
        topics: Collection[str],
        mail_class: MailClass,
        org: Organisation,
        model: Mapping[str, float],
    ) -> DepartmentChoice:
        """`model` is the model's department probabilities (empty without a model)."""
        common = org.common_department
        if view.mailbox_kind == "department" and view.mailbox_department is not None:
            return DepartmentChoice(view.mailbox_department, "department.mailbox")
        if mail_class is MailClass.PRIVAT:
            return DepartmentChoice(common, "department.private_to_common")
        if view.mailbox_kind == "personal":
            owned = [d for d in _staff_departments(org, view.mailbox) if d != common]
            if len(owned) == 1:
                return DepartmentChoice(owned[0], "department.mailbox_owner")
            if owned:
                scores = self.scores(view, topics, owned, org, model)
                best = max(owned, key=lambda key: scores[key])
                return DepartmentChoice(best, "department.mailbox_owner_vocabulary")
        deciding = self._deciding(topics, org)
        if deciding is not None:
            return DepartmentChoice(deciding, "department.topic")
        leader = self._clear_leader(self.scores(view, topics, org.departments, org, model))
        if leader is None or leader == common:
            return DepartmentChoice(common, "department.common")
        # The reason names the model only where the words alone would not have chosen it.
        by_words = self._clear_leader(self.scores(view, topics, org.departments, org, {}))
        return DepartmentChoice(
            leader, "department.vocabulary" if by_words == leader else "department.model"
        )
