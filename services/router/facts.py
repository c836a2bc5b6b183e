"""The facts that change a case record: the mail events the router consumes after `received`, the
supervisors' commands and the watch's alerts (R10–R13, R17). Data only.

Every fact has an id (`fact_id`); a record remembers the ids it applied, which is how a redelivered
fact is recognised (`transitions.transition`). The ids of the events a fact causes are derived from
its id, so a redelivery publishes only events JetStream drops as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.events import MailArchived, MailChanged, MailClassified, MailDeleted, Party
from schemas.vocab import AlertKind, AssignmentPolicy, CompletedVia, MailClass


@dataclass(frozen=True)
class AssignFact:
    """A person gives the case to `staff_id` (R11, R17)."""

    fact_id: str
    staff_id: str
    by: str
    """The acting staff id, or `outlook` when Graph does not say who changed the category."""
    policy: Literal[AssignmentPolicy.MANUAL, AssignmentPolicy.OUTLOOK] = AssignmentPolicy.MANUAL


@dataclass(frozen=True)
class DoneFact:
    """A person marks the case Ferdig (R12), or confirms its private verdict (R9d)."""

    fact_id: str
    by: Party
    via: CompletedVia


@dataclass(frozen=True)
class ClassifyFact:
    """A person corrects the class (R17)."""

    fact_id: str
    mail_class: MailClass
    by: Party
    via: Literal[CompletedVia.OUTLOOK, CompletedVia.COMMAND]


@dataclass(frozen=True)
class AlertedFact:
    """The watch published the alert `fact_id` of `kind` for the case (R10)."""

    fact_id: str
    kind: AlertKind


MailFact = MailClassified | MailArchived | MailChanged | MailDeleted
Fact = MailFact | AssignFact | DoneFact | ClassifyFact | AlertedFact


def fact_id(fact: Fact) -> str:
    """The id a record remembers once it applied the fact."""
    if isinstance(fact, MailClassified | MailArchived | MailChanged | MailDeleted):
        return fact.event_id
    return fact.fact_id
