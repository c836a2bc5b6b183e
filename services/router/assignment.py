"""Who handles a case (R8, R10, R11, R9d): the department's policy chain, tried in order.

- private mail: closed as `auto_privat` when the classifier is confident, otherwise a supervisor (or
  the deputy of an away supervisor) confirms it;
- `thread`: a reply goes to the caseworker who has the conversation, if still available;
- `rule`: the first explicit rule that matches names the caseworker (or the deputy when away);
- `load`: the available caseworker with the fewest open cases for their capacity; ties rotate;
- nobody found: unassigned, and the supervisors are alerted.

Availability is an input: the staff ids whose Outlook automatic replies are on.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import MailClassified, MailReceived
from schemas.vocab import AlertKind, AssignmentPolicy, MailClass, Status
from services.common.orgconfig import AssignmentRule, Organisation
from services.common.standin import stand_in, supervisors_on_duty


@dataclass(frozen=True)
class MailFacts:
    """What the policies may look at. The router never reads the body."""

    mail_class: MailClass
    confidence: float
    sender: str | None
    subject: str
    topics: tuple[str, ...]
    conversation_id: str | None

    @classmethod
    def from_events(cls, received: MailReceived, classified: MailClassified) -> MailFacts:
        return cls(
            mail_class=classified.mail_class,
            confidence=classified.confidence,
            sender=received.sender.address if received.sender else None,
            subject=received.subject,
            topics=tuple(classified.topics),
            conversation_id=received.conversation_id,
        )


@dataclass(frozen=True)
class Workload:
    """The wiring's view of the open cases: per staff id, and who has this conversation."""

    open_cases: Mapping[str, int]
    conversation_assignee: str | None = None


class Rotation(BaseModel):
    """Round-robin state for ties under `load`: the last caseworker picked, per department.

    Plain data so the wiring can keep it in KV and update it with compare-and-set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    last_picked: dict[str, str] = Field(default_factory=dict)

    def after_picking(self, department: str, staff_id: str) -> Rotation:
        return Rotation(last_picked={**self.last_picked, department: staff_id})


@dataclass(frozen=True)
class AssignmentDecision:
    assignee: str | None
    policy: AssignmentPolicy
    status: Status
    rotation: Rotation
    why: str
    alert: AlertKind | None = None


def rule_matches(rule: AssignmentRule, facts: MailFacts) -> bool:
    """Every criterion the rule gives must match; within a criterion any value matches."""
    subject = facts.subject.casefold()
    sender = (facts.sender or "").strip().casefold()
    topics = {topic.casefold() for topic in facts.topics}
    checks: list[bool] = []
    if rule.senders:
        checks.append(
            bool(sender)
            and any(sender == s or (s.startswith("@") and sender.endswith(s)) for s in rule.senders)
        )
    if rule.subject_contains:
        checks.append(any(text in subject for text in rule.subject_contains))
    if rule.topics:
        checks.append(any(topic in topics for topic in rule.topics))
    if rule.keywords:
        checks.append(any(_has_word(subject, keyword) for keyword in rule.keywords))
    return all(checks)


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


def least_loaded(
    candidates: list[str],
    capacity: Mapping[str, float],
    open_cases: Mapping[str, int],
    last_picked: str | None,
) -> str:
    """The candidate whose load after taking one more case is lowest; ties rotate after the last.

    Load is (open + 1) / capacity, so new cases spread in proportion to capacity. Fractions of the
    capacities as written (0.3, not its binary neighbour) keep ties exact.
    """
    if not candidates:
        raise ValueError("no candidates to choose from")

    def load(staff_id: str) -> Fraction:
        return Fraction(open_cases.get(staff_id, 0) + 1) / Fraction(str(capacity[staff_id]))

    lowest = min(load(c) for c in candidates)
    start = candidates.index(last_picked) + 1 if last_picked in candidates else 0
    cyclic = candidates[start:] + candidates[:start]
    return next(c for c in cyclic if load(c) == lowest)


def choose_assignee(
    org: Organisation,
    department: str,
    facts: MailFacts,
    workload: Workload,
    away: Collection[str],
    rotation: Rotation,
) -> AssignmentDecision:
    if facts.mail_class is MailClass.PRIVAT:
        return _private(org, department, facts, away, rotation)
    config = org.departments[department].assignment

    for step in config.order:
        if step == "thread":
            owner = workload.conversation_assignee
            if owner is not None and owner not in away and org.may_be_assigned(department, owner):
                return _assigned(owner, AssignmentPolicy.THREAD, rotation, "same conversation")
        elif step == "rule":
            for index, rule in enumerate(config.rules):
                if rule_matches(rule, facts):
                    person = stand_in(org, rule.assignee, away)
                    if person is not None:
                        why = f"assignment rule {index}" + (
                            f" (deputy for {rule.assignee})" if person != rule.assignee else ""
                        )
                        return _assigned(person, AssignmentPolicy.RULE, rotation, why)
        else:
            members = org.departments[department].caseworkers
            available = [m for m in members if m not in away]
            if available:
                capacity = {m: org.staff_member(m).capacity for m in available}
                chosen = least_loaded(
                    available, capacity, workload.open_cases, rotation.last_picked.get(department)
                )
                return _assigned(
                    chosen,
                    AssignmentPolicy.LOAD,
                    rotation.after_picking(department, chosen),
                    "fewest open cases for capacity",
                )
    return AssignmentDecision(
        assignee=None,
        policy=AssignmentPolicy.UNASSIGNED,
        status=Status.NY,
        rotation=rotation,
        why="no available caseworker",
        alert=AlertKind.UNASSIGNED,
    )


def _assigned(
    staff_id: str, policy: AssignmentPolicy, rotation: Rotation, why: str
) -> AssignmentDecision:
    return AssignmentDecision(staff_id, policy, Status.TILDELT, rotation, why)


def _private(
    org: Organisation,
    department: str,
    facts: MailFacts,
    away: Collection[str],
    rotation: Rotation,
) -> AssignmentDecision:
    threshold = org.confidence.auto_privat
    if facts.confidence >= threshold:
        return AssignmentDecision(
            assignee=None,
            policy=AssignmentPolicy.AUTO_PRIVAT,
            status=Status.FERDIG,
            rotation=rotation,
            why=f"private mail, confidence {facts.confidence:.2f} (R9d)",
        )
    why = f"private mail, confidence {facts.confidence:.2f} below {threshold:.2f}: to confirm"
    present = [s for s in supervisors_on_duty(org, department, away) if s not in away]
    if not present:
        return AssignmentDecision(
            None, AssignmentPolicy.UNASSIGNED, Status.NY, rotation, why, AlertKind.CONFIRM_PRIVATE
        )
    return AssignmentDecision(
        present[0],
        AssignmentPolicy.SUPERVISOR,
        Status.TILDELT,
        rotation,
        why,
        AlertKind.CONFIRM_PRIVATE,
    )
