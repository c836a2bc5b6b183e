"""Pure classification (R9, R2, R3): a parsed mail in a mailbox -> class, confidence, sensitive
kinds, topics, suggested department and the ids of the rules that decided it. No I/O.

The rules stay exact and explainable (identity numbers, headers, auto-replies, sender kinds,
thread memory); the statistical model (`model.py`), where one is given, adds its class
probabilities as votes worth `decision.model_weight`, and its department probabilities to the
department evidence. Its id `model.<version>` is among the reasons when it agrees with the
decision; which of its terms weighed most is for `sakspost classify --explain`, not for events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from schemas.vocab import MailClass, SensitiveKind
from services.classifier.department import DepartmentRouter
from services.classifier.features import MailView, SenderClassifier, build_view
from services.classifier.identity import IdentityNumberFinder
from services.classifier.matching import CompiledRule, compile_rule
from services.classifier.model import CLASS_HEAD, DEPARTMENT_HEAD, TextModel, Vector
from services.classifier.prefilter import NeedleIndex
from services.classifier.ruleset import Rule, RuleFile, default_rules
from services.common.mail import ParsedMail
from services.common.orgconfig import Organisation

DEFAULT_REASON = "default.offisiell"
IDENTITY_REASON = "sensitive.identity_number"
# Fixed order, so that output is stable and reads from the most to the least specific kind.
_SENSITIVE_ORDER = tuple(SensitiveKind)


@dataclass(frozen=True, slots=True)
class Classification:
    mail_class: MailClass
    confidence: float
    sensitive: tuple[SensitiveKind, ...]
    topics: tuple[str, ...]
    suggested_department: str
    reasons: tuple[str, ...]
    scores: dict[MailClass, float]
    rules_version: str
    model_version: str | None = None


def model_text(view: MailView) -> str:
    """What the model reads: the subject, the sender's own words and the attachments' names."""
    return "\n".join((view.own_text, *view.attachment_names))


def model_reason(version: str) -> str:
    return f"model.{version}"


def _confidence(scores: dict[MailClass, float], winner: MailClass, temperature: float) -> float:
    top = max(scores.values())
    weights = {c: math.exp((s - top) / temperature) for c, s in scores.items()}
    return round(weights[winner] / sum(weights.values()), 3)


class Classifier:
    """Classifies mail with one rule file; build once, call `classify` for each mail."""

    def __init__(self, rules: RuleFile | None = None, model: TextModel | None = None) -> None:
        self.rules = rules or default_rules()
        self.model = model
        self._compiled: tuple[CompiledRule, ...] = tuple(compile_rule(r) for r in self.rules.rules)
        self._senders = SenderClassifier(self.rules.sender_kinds)
        ids = self.rules.identity_numbers
        self.identity_finder = IdentityNumberFinder(
            ids.identity_labels, ids.other_number_labels, ids.label_window
        )
        self._departments = DepartmentRouter(self.rules.departments)
        self._needles = NeedleIndex(
            frozenset().union(self._departments.needles, *(c.needles for c in self._compiled))
        )

    @property
    def version(self) -> str:
        """Rules and model together: what decides the class (and the event id's salt)."""
        return f"{self.rules.version}+{self.model.version}" if self.model else self.rules.version

    @property
    def model_version(self) -> str | None:
        return self.model.version if self.model else None

    def model_vector(self, view: MailView) -> Vector | None:
        return self.model.vector(model_text(view)) if self.model else None

    def view(
        self, mail: ParsedMail, mailbox: str, org: Organisation, thread_class: MailClass | None
    ) -> MailView:
        return build_view(
            mail, mailbox, org, thread_class, self._senders, self.identity_finder, self._needles
        )

    @staticmethod
    def _department_probabilities(
        model: TextModel, view: MailView, vector: Vector
    ) -> dict[str, float]:
        """The subject alone counts half: a subject names the matter, while a body's greetings
        and small talk would otherwise pull towards whichever department's mail they resemble."""
        whole = model.probabilities(DEPARTMENT_HEAD, vector)
        if not view.subject.strip():
            return whole
        subject = model.probabilities(DEPARTMENT_HEAD, model.vector(view.subject))
        return {key: (whole[key] + subject[key]) / 2 for key in whole}

    def fired_rules(self, view: MailView) -> list[Rule]:
        """The rules that hold for this mail, in file order (a rule sees the topics of the rules
        above it). Also what the rule-usage test counts to find rules no mail needs."""
        topics: list[str] = []
        fired: list[Rule] = []
        for compiled in self._compiled:
            if compiled.fires(view, topics):
                rule = compiled.rule
                if rule.topic and rule.topic not in topics:
                    topics.append(rule.topic)
                fired.append(rule)
        return fired

    def _decide(self, scores: dict[MailClass, float]) -> MailClass:
        decision = self.rules.decision
        others = {c: s for c, s in scores.items() if c is not MailClass.PRIVAT}
        best_other = max(others, key=lambda c: (others[c], c is MailClass.ARKIVVERDIG))
        if scores[MailClass.PRIVAT] - others[best_other] >= decision.privat_margin:
            return MailClass.PRIVAT
        return best_other

    def classify(
        self,
        mail: ParsedMail,
        mailbox: str,
        org: Organisation,
        thread_class: MailClass | None = None,
    ) -> Classification:
        view = self.view(mail, mailbox, org, thread_class)
        scores = {c: self.rules.decision.prior.get(c, 0.0) for c in MailClass}
        topics: list[str] = []
        sensitive = {hit.kind for hit in view.identity_hits}
        fired: list[tuple[str, dict[MailClass, float]]] = []
        for rule in self.fired_rules(view):
            for mail_class, weight in rule.votes.items():
                scores[mail_class] += weight
            if rule.topic and rule.topic not in topics:
                topics.append(rule.topic)
            if rule.sensitive:
                sensitive.add(rule.sensitive)
            fired.append((rule.id, dict(rule.votes)))
        vector = self.model_vector(view)
        model_classes: dict[str, float] = {}
        model_departments: dict[str, float] = {}
        if self.model is not None and vector is not None:
            model_classes = self.model.probabilities(CLASS_HEAD, vector)
            model_departments = self._department_probabilities(self.model, view, vector)
            weight = self.rules.decision.model_weight
            for mail_class in MailClass:
                scores[mail_class] += weight * model_classes.get(mail_class.value, 0.0)
        mail_class = self._decide(scores)
        supporting = sorted(
            (item for item in fired if item[1].get(mail_class, 0.0) > 0),
            key=lambda item: -item[1][mail_class],
        )
        reasons = [rule_id for rule_id, _ in supporting]
        if self.model is not None and max(model_classes, key=model_classes.__getitem__) == (
            mail_class.value
        ):
            reasons.append(model_reason(self.model.version))
        reasons = reasons or [DEFAULT_REASON]
        if view.identity_hits:
            reasons.append(IDENTITY_REASON)
        reasons.extend(rule_id for rule_id, votes in fired if not votes)
        choice = self._departments.choose(view, topics, mail_class, org, model_departments)
        return Classification(
            mail_class=mail_class,
            confidence=_confidence(scores, mail_class, self.rules.decision.temperature),
            sensitive=tuple(k for k in _SENSITIVE_ORDER if k in sensitive),
            topics=tuple(topics),
            suggested_department=choice.department,
            reasons=(*reasons, choice.reason),
            scores=scores,
            rules_version=self.rules.version,
            model_version=self.model_version,
        )
