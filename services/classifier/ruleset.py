"""The rule file (`rules.yaml`): its schema, validation and compiled form.

Every cue the classifier uses lives in the rule file, so that an archivist can read and tune them
without touching code: header signals, sender kinds, content cues in bokmål, nynorsk and English,
attachment kinds, thread context, sensitive detectors and department vocabulary. A bad file fails
at load time with a message that names the rule and the field.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.vocab import MailClass, SensitiveKind

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yaml")

SenderKind = Literal["staff", "lookalike", "public_body", "company", "automated", "citizen"]
MailboxKind = Literal["common", "department", "personal"]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")]


class RulesError(ValueError):
    """The rule file cannot be used; the message names the rule and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"{pattern!r} is not a valid regular expression: {error}") from None
    return patterns


class Condition(_Strict):
    """What a rule needs in order to fire: every field given must hold (fields are ANDed).

    A list of patterns holds when any one of them matches (case-insensitive). `text` reads the
    subject and the sender's own words (quotes of earlier mail removed); `full_text` reads the
    whole body, quotes included.
    """

    subject: list[str] = Field(default_factory=list)
    text: list[str] = Field(default_factory=list)
    text_and: list[str] = Field(default_factory=list, description="a second group that must match")
    not_text: list[str] = Field(default_factory=list, description="none of these may match")
    full_text: list[str] = Field(default_factory=list)
    full_text_and: list[str] = Field(default_factory=list)
    sender_name: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(
        default_factory=dict, description="any of these headers present and matching"
    )
    sender_kind: list[SenderKind] = Field(default_factory=list)
    not_sender_kind: list[SenderKind] = Field(default_factory=list)
    mailbox: list[MailboxKind] = Field(default_factory=list)
    mailbox_department: list[str] = Field(default_factory=list)
    reply: bool | None = None
    forward: bool | None = None
    reply_to_foreign: bool | None = Field(
        default=None, description="Reply-To points to another domain than From"
    )
    thread_class: list[MailClass] = Field(default_factory=list)
    min_attachments: int | None = Field(default=None, ge=0)
    attachment_name: list[str] = Field(default_factory=list)
    min_words: int | None = Field(default=None, ge=0)
    max_words: int | None = Field(default=None, ge=0)
    identity_number: bool | None = None
    topics: list[str] = Field(default_factory=list, description="a topic found by an earlier rule")
    not_topics: list[str] = Field(default_factory=list)

    @field_validator(
        "subject",
        "text",
        "text_and",
        "not_text",
        "full_text",
        "full_text_and",
        "sender_name",
        "attachment_name",
    )
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return _check_patterns(value)

    @field_validator("headers")
    @classmethod
    def _header_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        _check_patterns(list(value.values()))
        return {name.lower(): pattern for name, pattern in value.items()}

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("a rule needs at least one condition in `when`")
        return self


class Rule(_Strict):
    id: RuleId
    description: str = Field(min_length=3)
    when: Condition
    votes: dict[MailClass, float] = Field(default_factory=dict)
    topic: str | None = None
    sensitive: SensitiveKind | None = None


class SenderKinds(_Strict):
    """How a sender's kind is recognised (staff are the organisation's own domain)."""

    public_body_domains: list[str]
    public_body_names: list[str]
    company_names: list[str]
    company_local_parts: list[str]
    automated_local_parts: list[str]

    @field_validator("*")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return _check_patterns(value)


class DepartmentVocabulary(_Strict):
    strong: list[str] = Field(default_factory=list, description="worth 2 points each")
    words: list[str] = Field(default_factory=list, description="worth 1 point each")

    @field_validator("*")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return _check_patterns(value)


class Departments(_Strict):
    min_score: float = Field(gt=0, description="content must score this much to leave post@")
    margin: float = Field(ge=0, description="and beat the runner-up by this much")
    topic_weight: float = Field(ge=0)
    vocabulary: dict[str, DepartmentVocabulary]
    topics: dict[str, str] = Field(default_factory=dict, description="topic -> department")
    deciding_topics: dict[str, str] = Field(
        default_factory=dict,
        description="topic -> the department that takes such mail to post@ whatever its words",
    )
    model_weight: float = Field(
        default=0.0, ge=0, description="votes the model's department probability is worth"
    )
    org_word_weight: float = Field(
        default=2.0, ge=0, description="score of each of a department's `words` (org file) found"
    )


class IdentityNumbers(_Strict):
    label_window: int = Field(gt=0, description="characters before a number searched for labels")
    identity_labels: list[str]
    other_number_labels: list[str]

    @field_validator("identity_labels", "other_number_labels")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return _check_patterns(value)


class Decision(_Strict):
    prior: dict[MailClass, float]
    privat_margin: float = Field(
        ge=0, description="privat must beat the next class by this much (closing work is worst)"
    )
    temperature: float = Field(gt=0, description="softness of the confidence (softmax of scores)")
    model_weight: float = Field(
        default=0.0,
        ge=0,
        description="votes the model's class probability is worth (0: rules only)",
    )


class PersonalPolicy(_Strict):
    """What may leave a personal mailbox without its owner (R9c, the privacy note)."""

    private_topics: list[str] = Field(
        default_factory=list, description="a mail with any of these topics is left alone"
    )
    not_evidence: list[RuleId] = Field(
        default_factory=list,
        description="rules that vote for a class without showing official content (the sender)",
    )


class RuleFile(_Strict):
    version: str = Field(min_length=1)
    decision: Decision
    topics: dict[str, str] = Field(description="topic -> what it means")
    sender_kinds: SenderKinds
    identity_numbers: IdentityNumbers
    rules: list[Rule] = Field(min_length=1)
    departments: Departments
    personal: PersonalPolicy = Field(default_factory=PersonalPolicy)

    @model_validator(mode="after")
    def _references(self) -> RuleFile:
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule ids {duplicates} appear more than once (fix: make ids unique)")
        known = set(self.topics)
        for rule in self.rules:
            used = {rule.topic} if rule.topic else set()
            used |= set(rule.when.topics) | set(rule.when.not_topics)
            unknown = sorted(used - known)
            if unknown:
                raise ValueError(
                    f"rule {rule.id}: unknown topic(s) {unknown} (fix: add under topics)"
                )
            if not rule.votes and rule.topic is None and rule.sensitive is None:
                raise ValueError(
                    f"rule {rule.id}: has no effect (fix: give votes, topic or sensitive)"
                )
        unknown_topics = sorted(set(self.personal.private_topics) - known)
        if unknown_topics:
            raise ValueError(f"personal.private_topics: unknown topic(s) {unknown_topics}")
        unknown_rules = sorted(set(self.personal.not_evidence) - set(ids))
        if unknown_rules:
            raise ValueError(f"personal.not_evidence: unknown rule(s) {unknown_rules}")
        for field in ("topics", "deciding_topics"):
            mapping: dict[str, str] = getattr(self.departments, field)
            for topic, department in mapping.items():
                if topic not in known:
                    raise ValueError(f"departments.{field}: unknown topic {topic!r}")
                if department not in self.departments.vocabulary:
                    raise ValueError(
                        f"departments.{field}.{topic}: no vocabulary for {department!r}"
                    )
        return self


def _format_errors(source: str, error: ValidationError) -> str:
    lines = [f"{source}: the rule file is not valid:"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def parse_rules(data: Any, source: str = "rules") -> RuleFile:
    if not isinstance(data, dict):
        raise RulesError(f"{source}: expected a mapping at the top level")
    try:
        return RuleFile.model_validate(data)
    except ValidationError as error:
        raise RulesError(_format_errors(source, error)) from None


def load_rules(path: str | Path = DEFAULT_RULES_PATH) -> RuleFile:
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise RulesError(f"{source}: cannot read the rule file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise RulesError(f"{source}: not valid YAML: {error}") from None
    return parse_rules(data, str(source))


@cache
def default_rules() -> RuleFile:
    """The rule file shipped with the classifier (read once per process)."""
    return load_rules(DEFAULT_RULES_PATH)
