"""The overview's picture of the cases, kept from the router's KV records (pure, no I/O).

`feed.py` watches the bucket `sakspost_cases` and hands each `case.<id>` value to
`ReadModel.apply`; the pages ask the read model. The records are the router's (`services/router/
record.py`); the overview reads only the fields it shows, ignoring the rest, so a field the router
adds never breaks it. Who may see which case is decided by `services/common/rights.py`: a
department's supervisors see all its cases, anyone else only those assigned to them; a sensitive
mail's subject only its assignee sees.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.events import Alert, Party, UtcDateTime
from schemas.vocab import AlertKind, MailClass, SensitiveKind, Status
from services.common.actors import Actor
from services.common.orgconfig import Organisation
from services.common.presence import AWAY_PREFIX, Presence
from services.common.rights import Action, may, supervises, visible_departments

CASE_PREFIX = "case."
# Alerts kept per department: the page shows the latest; older ones are in the events stream.
RECENT_ALERTS = 50


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class HistoryView(_View):
    at: UtcDateTime
    who: str
    what: str
    why: str = ""


class CaseView(_View):
    """What the overview shows of one case record."""

    case_id: str
    department: str
    received_at: UtcDateTime
    subject: str = ""
    sender: Party | None = None
    mail_class: MailClass | None = None
    confidence: float | None = None
    class_reasons: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    sensitive: list[SensitiveKind] = Field(default_factory=list)
    status: Status = Status.NY
    assignee: str | None = None
    due_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None
    journalpost_id: str | None = None
    registry_number: str | None = None
    alerts_sent: list[AlertKind] = Field(default_factory=list)
    history: list[HistoryView] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status is not Status.FERDIG

    def overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < now

    def reasons(self) -> list[str]:
        """Why the case has its class (the classifier's rule ids, or a person's correction) and
        its department and assignee (the router's words)."""
        return list(self.class_reasons) + [
            entry.why
            for entry in self.history
            if entry.why and entry.what in {"routed", "reclassified", "classifier_ignored"}
        ]


def parse_case(value: bytes) -> CaseView | None:
    """The case a `case.<id>` value holds (`{"record": …, "outbox": …}`); None if unreadable."""
    try:
        stored = json.loads(value)
        return CaseView.model_validate(stored["record"])
    except (ValueError, KeyError, TypeError, ValidationError):
        return None


def may_see(org: Organisation, actor: Actor, case: CaseView) -> bool:
    return may(org, actor, Action.VIEW, case.department, case.assignee)


def shows_subject(actor: Actor, case: CaseView) -> bool:
    """A sensitive mail's subject is for its assignee alone (R2); others see that it is hidden."""
    return not case.sensitive or (actor.kind == "person" and actor.id == case.assignee)


def sender_kind(org: Organisation, case: CaseView) -> str:
    """`staff`, `external` or `unknown`: the kind of sender, never the address."""
    if case.sender is None:
        return "unknown"
    if case.sender.id or org.is_staff_address(case.sender.address):
        return "staff"
    return "external"


@dataclass(frozen=True)
class Load:
    staff_id: str
    name: str
    open_cases: int
    capacity: float
    # None: the router has not said yet (it records who is away once a minute).
    away: bool | None = None


@dataclass(frozen=True)
class Lists:
    """A department's cases as one viewer sees them."""

    queue: list[CaseView]
    unassigned: list[CaseView]
    overdue: list[CaseView]


class ReadModel:
    """Every case by id, and each department's recent alerts, as last heard."""

    def __init__(self, org: Organisation) -> None:
        self.org = org
        self.cases: dict[str, CaseView] = {}
        self.alerts: dict[str, deque[Alert]] = {}
        self.away: dict[str, frozenset[str]] = {}

    def apply(self, key: str, value: bytes | None) -> set[str]:
        """Take one KV entry (None: deleted); the departments whose pages it changes."""
        if key.startswith(AWAY_PREFIX):
            return self._apply_presence(key.removeprefix(AWAY_PREFIX), value)
        if not key.startswith(CASE_PREFIX):
            return set()
        case_id = key.removeprefix(CASE_PREFIX)
        before = self.cases.get(case_id)
        after = parse_case(value) if value else None
        if after is None:
            self.cases.pop(case_id, None)
        else:
            self.cases[case_id] = after
        return {c.department for c in (before, after) if c is not None}

    def _apply_presence(self, department: str, value: bytes | None) -> set[str]:
        try:
            presence = Presence.model_validate_json(value) if value else None
        except ValidationError:
            presence = None
        if presence is None:
            self.away.pop(department, None)
        else:
            self.away[department] = frozenset(presence.away)
        return {department}

    def add_alert(self, alert: Alert) -> str:
        """Keep an alert among its department's latest; the department."""
        kept = self.alerts.setdefault(alert.department, deque(maxlen=RECENT_ALERTS))
        if all(a.event_id != alert.event_id for a in kept):
            kept.appendleft(alert)
        return alert.department

    def recent_alerts(self, department: str) -> list[Alert]:
        return list(self.alerts.get(department, ()))

    def alerted(self, case: CaseView) -> frozenset[AlertKind]:
        """The kinds of alert raised about `case`: recorded on it by the router, or among its
        department's recent alerts (websak's and the classifier's are not on the record)."""
        recent = {
            a.kind
            for a in self.alerts.get(case.department, ())
            if case.case_id == a.case_id or case.case_id in a.case_ids
        }
        return frozenset({*case.alerts_sent, *recent})

    def visible(self, actor: Actor, department: str) -> list[CaseView]:
        """The department's cases `actor` may see, oldest first."""
        found = [
            c
            for c in self.cases.values()
            if c.department == department and may_see(self.org, actor, c)
        ]
        return sorted(found, key=lambda c: c.received_at)

    def lists(self, actor: Actor, department: str, now: datetime) -> Lists:
        cases = self.visible(actor, department)
        zone = ZoneInfo(self.org.timezone)
        today = now.astimezone(zone).date()
        queue = [
            c
            for c in cases
            if c.is_open
            or (c.completed_at is not None and c.completed_at.astimezone(zone).date() == today)
        ]
        return Lists(
            queue=queue,
            unassigned=[c for c in cases if c.is_open and c.assignee is None],
            overdue=[c for c in cases if c.overdue(now)],
        )

    def load(self, department: str) -> list[Load]:
        """Each member's open cases of this department against their capacity."""
        found = self.org.departments[department]
        members = list(dict.fromkeys([*found.caseworkers, *found.supervisors]))
        open_by = _count(
            c.assignee for c in self.cases.values() if c.department == department and c.is_open
        )
        away = self.away.get(department)
        return [
            Load(
                m,
                self.org.staff_member(m).name,
                open_by.get(m, 0),
                _capacity(self.org, m),
                None if away is None else m in away,
            )
            for m in members
        ]

    def case(self, case_id: str) -> CaseView | None:
        return self.cases.get(case_id)


def _count(values: Iterable[str | None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return counts


def _capacity(org: Organisation, staff_id: str) -> float:
    return org.staff_member(staff_id).capacity


def may_see_department(org: Organisation, actor: Actor, department: str) -> bool:
    """Whether the department's page is `actor`'s to open (supervisors: everything on it)."""
    return department in visible_departments(org, actor)


def sees_alerts(org: Organisation, actor: Actor, department: str) -> bool:
    """Alerts are about the whole department: its supervisors' (and operators')."""
    return supervises(org, actor, department)
