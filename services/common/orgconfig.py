"""The organisation file: departments, their official addresses, supervisors and caseworkers.

R5, R8, R10; and the router's assignment policies, deadlines and office hours (R10, R11).

Loaded from YAML and validated by pydantic. A bad file never starts a service half-configured: the
error names the file, the field and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.subjects import check_token
from schemas.vocab import MailClass
from services.common.configfile import read_yaml, validate_mapping
from services.common.language import Language


class OrgConfigError(ValueError):
    """The organisation file cannot be used; the message says where and how to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _normalise_address(value: str) -> str:
    address = value.strip().lower()
    local, sep, domain = address.partition("@")
    if not sep or not local or "." not in domain or " " in address:
        raise ValueError(f"{value!r} is not an e-mail address (fix: write it as name@domain)")
    return address


class StaffMember(_Strict):
    id: str = Field(description="Stable staff id, used in commands and the case history")
    name: str
    email: str
    language: Language = "nn"
    capacity: float = Field(default=1.0, gt=0, description="Relative share of new cases")
    deputy: str | None = Field(default=None, description="Staff id who stands in when away")
    personal_opt_in: bool = Field(
        default=False,
        description="Sakspost may watch this person's own mailbox (R9c, R15); they alone are told",
    )
    object_id: str | None = Field(
        default=None,
        description="Entra ID object id; when given, a sign-in must carry it (an address may move)",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _normalise_address(value)


class Operator(_Strict):
    """The people running Sakspost, signed in as their own Entra ID application (client
    credentials): recorded by `id` in every case history they act on."""

    id: str = Field(description="Recorded as the actor, like a staff id")
    name: str
    app_id: str = Field(description="Client id of the operator's Entra ID application")


# --- the router's configuration: assignment, deadlines, office hours, confidence ------------------

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")

WorkingDays = Annotated[int, Field(ge=0, description="Whole working days")]
AssignmentStep = Literal["thread", "rule", "load"]
_DEFAULT_ORDER: tuple[AssignmentStep, ...] = ("thread", "rule", "load")


class OfficeHours(_Strict):
    """When the municipality works: deadlines fall at closing time on a working day."""

    opens: str = Field(default="08:00", description="Local opening time, 'HH:MM'")
    closes: str = Field(default="16:00", description="Local closing time, 'HH:MM'")
    closed_days: list[str] = Field(
        default_factory=list,
        description="Days closed every year besides public holidays, as 'MM-DD' (e.g. '12-24')",
    )

    @field_validator("opens", "closes", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> str:
        # YAML 1.1 reads an unquoted 16:00 as the number 960 (base 60): say so instead of guessing.
        if not isinstance(value, str) or not _CLOCK.match(value.strip()):
            raise ValueError(
                f"{value!r} is not a time of day (fix: write it in quotes as 'HH:MM', e.g. '16:00')"
            )
        return value.strip()

    @field_validator("closed_days", mode="before")
    @classmethod
    def _month_days(cls, value: Any) -> Any:
        if isinstance(value, list):
            for day in value:
                if not isinstance(day, str) or not _MONTH_DAY.match(day.strip()):
                    raise ValueError(
                        f"{day!r} is not a day of the year (fix: write it in quotes as 'MM-DD', "
                        "e.g. '12-24')"
                    )
            return [day.strip() for day in value]
        return value

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.opening_time >= self.closing_time:
            raise ValueError(
                f"opens {self.opens} is not before closes {self.closes} (fix: swap or correct them)"
            )
        return self

    @property
    def opening_time(self) -> time:
        return time.fromisoformat(self.opens)

    @property
    def closing_time(self) -> time:
        return time.fromisoformat(self.closes)

    @property
    def closed_month_days(self) -> frozenset[tuple[int, int]]:
        return frozenset((int(day[:2]), int(day[3:])) for day in self.closed_days)


class Sla(_Strict):
    """How long a case may stay open, in working days (R10: supervisors hear when it is late).

    A topic's deadline wins over the class's (the shortest when several topics have one).
    """

    days_by_class: dict[MailClass, WorkingDays] = Field(
        default_factory=lambda: {
            # R9a: archival mail goes to WebSak at once; the case is Ferdig when it is archived.
            MailClass.ARKIVVERDIG: 1,
            MailClass.OFFISIELL: 3,
            # Only private mail a supervisor must confirm is open at all (auto_privat is Ferdig).
            MailClass.PRIVAT: 1,
        },
        description="Working days per class; a class left out gets no deadline",
    )
    days_by_topic: dict[str, WorkingDays] = Field(
        default_factory=lambda: {"innsynskrav": 1},
        description="Working days per classifier topic; overrides the class",
    )
    assign_within_hours: float = Field(
        default=4.0, gt=0, description="Office hours a case may stay without a caseworker"
    )

    @field_validator("days_by_topic")
    @classmethod
    def _topics(cls, value: dict[str, int]) -> dict[str, int]:
        return {topic.strip().casefold(): days for topic, days in value.items()}


class AssignmentRule(_Strict):
    """Mail matching every criterion given goes to `assignee` (any one value of a list matches)."""

    assignee: str = Field(description="Staff id of the named caseworker")
    senders: list[str] = Field(
        default_factory=list, description="Sender addresses, or '@domain' for a whole domain"
    )
    subject_contains: list[str] = Field(
        default_factory=list, description="Text found anywhere in the subject (any case)"
    )
    topics: list[str] = Field(default_factory=list, description="Classifier topics")
    keywords: list[str] = Field(
        default_factory=list,
        description="Whole words of the subject (the router never reads bodies)",
    )

    @field_validator("senders", "subject_contains", "topics", "keywords")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        # Matching ignores case: store the criteria folded once.
        return [value.strip().casefold() for value in values]

    @model_validator(mode="after")
    def _has_criteria(self) -> Self:
        if not (self.senders or self.subject_contains or self.topics or self.keywords):
            raise ValueError(
                f"the rule for {self.assignee!r} has no criteria and would take every mail "
                "(fix: add senders, subject_contains, topics or keywords)"
            )
        return self


class Assignment(_Strict):
    """The assignment policies a department tries in order (R11); nobody found → unassigned."""

    order: list[AssignmentStep] = Field(
        default_factory=lambda: list(_DEFAULT_ORDER),
        min_length=1,
        description="Policies tried in order: thread, rule, load",
    )
    rules: list[AssignmentRule] = Field(default_factory=list, description="Tried top to bottom")

    @field_validator("order")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"{value} names a policy twice (fix: list each policy once)")
        return value


class Confidence(_Strict):
    """How sure the classifier must be before the router acts on its judgement alone."""

    redistribute_from_common: float = Field(
        default=0.8, ge=0, le=1, description="Move post@ mail to the suggested department"
    )
    auto_privat: float = Field(
        default=0.9, ge=0, le=1, description="Close private mail without a supervisor (R9d)"
    )


class Department(_Strict):
    name: str
    addresses: list[str] = Field(min_length=1, description="Official addresses of its Sakspost")
    mailbox_id: str | None = Field(
        default=None, description="Graph user id of the shared mailbox (default: first address)"
    )
    service_area: str | None = Field(
        default=None, description="Departments sharing a service area may share staff"
    )
    supervisors: list[str] = Field(min_length=1, description="Staff ids of its tilsyn (R10)")
    caseworkers: list[str] = Field(min_length=1, description="Staff ids who may be assigned (R8)")
    assignment: Assignment = Field(default_factory=Assignment)
    sla: Sla | None = Field(default=None, description="Replaces the organisation's SLA when given")
    # How any municipality teaches the classifier its own organisation (issue 18): `tasks` are
    # examples of the department's mail that the model learns from (`sakspost classify --train`),
    # `words` count for the department at once, without retraining.
    tasks: list[str] = Field(
        default_factory=list, description="Kinds of mail it handles, as a sender would word them"
    )
    words: list[str] = Field(
        default_factory=list, description="Whole words or phrases that point mail to it (any case)"
    )

    @field_validator("tasks", "words")
    @classmethod
    def _texts(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.strip():
                raise ValueError("an empty entry (fix: remove it or write the text)")
        return [value.strip() for value in values]

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_normalise_address(v) for v in value]

    @property
    def mailbox(self) -> str:
        """The Graph user id of this department's shared mailbox."""
        return self.mailbox_id or self.addresses[0]


class Organisation(_Strict):
    name: str
    domain: str
    timezone: str = "Europe/Oslo"
    default_language: Language = "nn"
    common_department: str = Field(
        default="post", description="The common mailbox whose mail may go to any department (R5)"
    )
    no_reply_address: str = Field(description="Mailbox notices are sent from; never watched")
    operations_address: str | None = Field(
        default=None,
        description="Where the people running Sakspost are e-mailed (config/notifier.yaml "
        "`operations`), unless the notifier's file names its own",
    )
    staff: list[StaffMember] = Field(min_length=1)
    operators: list[Operator] = Field(
        default_factory=list, description="Applications that may run every command (issue 19)"
    )
    departments: dict[str, Department] = Field(min_length=1)
    office_hours: OfficeHours = Field(default_factory=OfficeHours)
    sla: Sla = Field(
        default_factory=Sla, description="Deadlines of every department without its own"
    )
    confidence: Confidence = Field(default_factory=Confidence)

    @field_validator("no_reply_address")
    @classmethod
    def _no_reply(cls, value: str) -> str:
        return _normalise_address(value)

    @field_validator("operations_address")
    @classmethod
    def _operations(cls, value: str | None) -> str | None:
        return _normalise_address(value) if value is not None else None

    @field_validator("departments")
    @classmethod
    def _department_keys(cls, value: dict[str, Department]) -> dict[str, Department]:
        for key in value:
            try:
                check_token(key)
            except ValueError as error:
                raise ValueError(f"{error} (fix: use a short lower-case key like 'bygg')") from None
        return value

    @model_validator(mode="after")
    def _references(self) -> Self:
        ids = [member.id for member in self.staff]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"staff ids {duplicates} appear more than once (fix: make ids unique)")
        known = set(ids)
        clashing = known & {operator.id for operator in self.operators}
        if clashing:
            raise ValueError(
                f"operators {sorted(clashing)} share an id with staff (fix: give operators ids of "
                "their own, so a case history tells a person from an application)"
            )
        for member in self.staff:
            if member.deputy is not None and member.deputy not in known:
                raise ValueError(
                    f"staff {member.id!r} has deputy {member.deputy!r}, who is not in staff "
                    "(fix: add the deputy under staff or correct the id)"
                )
        seen: dict[str, str] = {}
        for key, department in self.departments.items():
            for role in ("supervisors", "caseworkers"):
                for staff_id in getattr(department, role):
                    if staff_id not in known:
                        raise ValueError(
                            f"departments.{key}.{role}: unknown staff id {staff_id!r} "
                            "(fix: add it under staff or correct the id)"
                        )
            for address in department.addresses:
                if address in seen:
                    raise ValueError(
                        f"address {address} belongs to both {seen[address]!r} and {key!r} "
                        "(fix: give each official address to one department)"
                    )
                seen[address] = key
        if self.no_reply_address in seen:
            raise ValueError(
                f"no_reply_address {self.no_reply_address} is a watched official address "
                "(fix: use a separate no-reply mailbox)"
            )
        for key, department in self.departments.items():
            for index, rule in enumerate(department.assignment.rules):
                if not self.may_be_assigned(key, rule.assignee):
                    raise ValueError(
                        f"departments.{key}.assignment.rules.{index}: {rule.assignee!r} is not a "
                        f"member of {key!r} (fix: add the staff id to its caseworkers, or name a "
                        "member)"
                    )
        if self.common_department not in self.departments:
            raise ValueError(
                f"common_department {self.common_department!r} is not a department "
                f"(fix: use one of {sorted(self.departments)})"
            )
        return self

    # --- look-ups -------------------------------------------------------------------------

    def staff_member(self, staff_id: str) -> StaffMember:
        for member in self.staff:
            if member.id == staff_id:
                return member
        raise KeyError(staff_id)

    def may_be_assigned(self, department_key: str, staff_id: str) -> bool:
        """R8: a department's members take its mail; anyone may take the common mailbox's."""
        known = any(member.id == staff_id for member in self.staff)
        if not known:
            return False
        if department_key == self.common_department:
            return True
        department = self.departments[department_key]
        return staff_id in department.caseworkers or staff_id in department.supervisors

    def sla_for(self, department_key: str) -> Sla:
        return self.departments[department_key].sla or self.sla

    def staff_by_email(self, address: str) -> StaffMember | None:
        wanted = address.strip().lower()
        return next((m for m in self.staff if m.email == wanted), None)

    def department_for_address(self, address: str) -> str | None:
        wanted = address.strip().lower()
        for key, department in self.departments.items():
            if wanted in department.addresses or wanted == (department.mailbox_id or "").lower():
                return key
        return None

    def shared_mailboxes(self) -> Iterator[tuple[str, Department]]:
        """(department key, department) for every watched shared mailbox."""
        yield from self.departments.items()

    def is_staff_address(self, address: str) -> bool:
        return address.strip().lower().endswith("@" + self.domain.lower())


def parse_organisation(data: Any, source: Path) -> Organisation:
    return validate_mapping(data, source, Organisation, "organisation file", OrgConfigError)


def load_organisation(path: str | Path) -> Organisation:
    source = Path(path)
    data = read_yaml(source, "organisation file", "SAKSPOST_ORG_CONFIG", OrgConfigError)
    return parse_organisation(data, source)
