"""The daily digest's view of a department, built from the events the notifier sees.

Each case is one small record (assignee, deadline, open or not, when archived), merged from
`routed`, `completed` and `archived` events. A merge is idempotent and keeps the newest fact per
field, so a redelivered or late event never turns a finished case open again. The digest counts
the records at the moment it is sent: open, unassigned, overdue, archived since the last digest,
and per caseworker.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from schemas.events import MailArchived, MailCompleted, MailRouted
from schemas.vocab import Status


class CaseView(BaseModel):
    """What the digest needs of one case (never a subject, sender or body)."""

    model_config = ConfigDict(frozen=True)

    assignee_id: str | None = None
    assignee_name: str | None = None
    due_at: datetime | None = None
    open: bool = True
    routed_at: datetime | None = None
    closed_at: datetime | None = None
    archived_at: datetime | None = None


def apply_routed(view: CaseView | None, event: MailRouted) -> CaseView:
    current = view or CaseView()
    if current.routed_at is not None and current.routed_at >= event.occurred_at:
        return current
    assignee = event.assignee
    reopened = event.status != Status.FERDIG
    still_closed = current.closed_at is not None and current.closed_at >= event.occurred_at
    return current.model_copy(
        update={
            "assignee_id": assignee.id if assignee else None,
            "assignee_name": (assignee.name or assignee.address) if assignee else None,
            "due_at": event.due_at,
            "open": reopened and not still_closed,
            "routed_at": event.occurred_at,
        }
    )


def apply_completed(view: CaseView | None, event: MailCompleted) -> CaseView:
    current = view or CaseView()
    if current.closed_at is not None and current.closed_at >= event.occurred_at:
        return current
    reopened_later = current.routed_at is not None and current.routed_at > event.occurred_at
    return current.model_copy(
        update={"open": current.open and reopened_later, "closed_at": event.occurred_at}
    )


def apply_archived(view: CaseView | None, event: MailArchived) -> CaseView:
    current = view or CaseView()
    if current.archived_at is not None and current.archived_at <= event.occurred_at:
        return current
    return current.model_copy(update={"archived_at": event.occurred_at})


@dataclass(frozen=True)
class CaseworkerLoad:
    name: str
    open: int
    overdue: int


@dataclass(frozen=True)
class Digest:
    department: str
    day: str
    open: int
    unassigned: int
    overdue: int
    archived: int
    caseworkers: tuple[CaseworkerLoad, ...]


def summarise(department: str, day: str, views: list[CaseView], now: datetime) -> Digest:
    """Counts for the digest of `day`; `archived` counts the last 24 hours."""
    open_views = [v for v in views if v.open]
    overdue = [v for v in open_views if v.due_at is not None and v.due_at < now]
    since = now - timedelta(days=1)
    archived = [v for v in views if v.archived_at is not None and v.archived_at >= since]
    names: dict[str, str] = {}
    open_by: Counter[str] = Counter()
    overdue_by: Counter[str] = Counter()
    for view in open_views:
        if view.assignee_id is None:
            continue
        names[view.assignee_id] = view.assignee_name or view.assignee_id
        open_by[view.assignee_id] += 1
        if view in overdue:
            overdue_by[view.assignee_id] += 1
    loads = tuple(
        CaseworkerLoad(names[staff], open_by[staff], overdue_by[staff])
        for staff in sorted(open_by, key=lambda s: (-open_by[s], names[s]))
    )
    return Digest(
        department=department,
        day=day,
        open=len(open_views),
        unassigned=sum(1 for v in open_views if v.assignee_id is None),
        overdue=len(overdue),
        archived=len(archived),
        caseworkers=loads,
    )


def is_stale(view: CaseView, now: datetime) -> bool:
    """A closed case past the last digest that could count it: its record can go."""
    finished = max((t for t in (view.closed_at, view.archived_at) if t is not None), default=None)
    return not view.open and finished is not None and finished < now - timedelta(days=2)


def digest_due(now: datetime, timezone: str, at: str) -> str | None:
    """The local day whose digest is due at `now` (once the configured time has passed)."""
    local = now.astimezone(ZoneInfo(timezone))
    if local.time() < time.fromisoformat(at):
        return None
    return local.date().isoformat()
