"""What to do with one mail in a personal mailbox (pure): forward it, ask or warn its owner, or
nothing.

- Inbox (R9c): the owner's mail is the owner's; the employer has no access to it (the privacy note
  in docs/rules.md). So a mail goes to Sakspost on its own only on positive evidence: it is
  official or archival by a rule that shows official content, or by the model agreeing, not merely
  by the prior; its confidence reaches the configured minimum; it holds nothing sensitive and no
  private topic (the rule file's `personal` section). It then goes to the Sakspost the classifier
  suggests (its first address), else to the common one. With evidence but short of that, the owner
  is asked and decides (an Outlook category); without evidence, or private, it is left alone.
- Sent Items (R15, R2, R3): a reply to a Sakspost case, or mail holding sensitive content or a
  confidentiality marking, is told to the owner alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.vocab import MailClass, SensitiveKind
from services.classifier.engine import Classification, model_reason
from services.classifier.ruleset import RuleFile
from services.common.orgconfig import Organisation

OFFICIAL_CLASSES = frozenset({MailClass.ARKIVVERDIG, MailClass.OFFISIELL})


@dataclass(frozen=True)
class Forward:
    """Misdirected official mail: move it to this Sakspost address."""

    department: str
    address: str
    mail_class: MailClass


@dataclass(frozen=True)
class AskOwner:
    """Maybe official: the owner alone is asked, and forwards it with a category if it is."""

    mail_class: MailClass


@dataclass(frozen=True)
class LeaveAlone:
    """Private mail: not Sakspost's business."""


@dataclass(frozen=True)
class WarnOwner:
    """Sent mail the owner should know about; never anyone else."""

    replied_to_case: bool
    sensitive: tuple[SensitiveKind, ...]


@dataclass(frozen=True)
class ForwardPolicy:
    """When a personal mail may go to Sakspost without its owner."""

    min_confidence: float
    private_topics: frozenset[str]
    # rule id -> the classes it votes for, without the rules that are no evidence of content
    evidence: dict[str, frozenset[MailClass]]

    @classmethod
    def from_rules(cls, rules: RuleFile, min_confidence: float) -> ForwardPolicy:
        weak = set(rules.personal.not_evidence)
        evidence = {
            rule.id: frozenset(c for c, weight in rule.votes.items() if weight > 0)
            for rule in rules.rules
            if rule.id not in weak
        }
        return cls(min_confidence, frozenset(rules.personal.private_topics), evidence)

    def evidence_for(self, classification: Classification) -> list[str]:
        """The reasons that show the mail's class by its content: rules, or the model."""
        model = model_reason(classification.model_version) if classification.model_version else None
        return [
            reason
            for reason in classification.reasons
            if reason == model or classification.mail_class in self.evidence.get(reason, ())
        ]


def destination(classification: Classification, org: Organisation) -> Forward:
    """The Sakspost a mail goes to: the suggested department's, else the common one. A mail the
    owner sends is official on the owner's word, whatever the class."""
    key = classification.suggested_department
    if key not in org.departments:
        key = org.common_department
    mail_class = classification.mail_class
    official = mail_class if mail_class in OFFICIAL_CLASSES else MailClass.OFFISIELL
    return Forward(key, org.departments[key].addresses[0], official)


def judge_received(
    classification: Classification, org: Organisation, policy: ForwardPolicy
) -> Forward | AskOwner | LeaveAlone:
    if classification.mail_class not in OFFICIAL_CLASSES:
        return LeaveAlone()
    if policy.private_topics.intersection(classification.topics):
        return LeaveAlone()
    if not policy.evidence_for(classification):
        return LeaveAlone()  # official by the prior alone: nothing says it is work
    if classification.sensitive or classification.confidence < policy.min_confidence:
        return AskOwner(classification.mail_class)  # sensitive content may be the owner's own
    return destination(classification, org)


def judge_sent(classification: Classification, replied_to_case: bool) -> WarnOwner | None:
    if not replied_to_case and not classification.sensitive:
        return None
    return WarnOwner(replied_to_case, classification.sensitive)
