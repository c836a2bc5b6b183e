"""Who may do what to a case, once `bearer.py` has proven who is asking (R8, R10, issue 19).

Pure, and the one home of these rules: the services that own state check them on every command,
the overview checks them to decide what it shows.
- A department's supervisors see and act on all its cases. Their deputies too: a deputy stands
  in for an away supervisor (R10) and must be able to act at once, not after someone grants it.
- A caseworker sees the cases assigned to them and acts on those: finishes, corrects the class,
  hands over to a colleague, archives their reply (R14). Confirming a private verdict, retrying an
  archive refusal and reports are supervisors' work.
- Operators (the organisation file's `operators`, signed in as their own application) may do
  everything, and are recorded as themselves.
- A person's own mailbox (R9c, R15, R16) is decided by its owner alone: no supervisor or operator
  opts anyone in. When a person leaves, the owner's consent to an offboarding sweep (R16) may be
  recorded by the owner, by a supervisor of a department they work in (their leader) or by an
  operator, and is recorded as theirs.
"""

from __future__ import annotations

from enum import StrEnum

from services.common.actors import Actor
from services.common.orgconfig import Organisation


class Action(StrEnum):
    VIEW = "view"
    ASSIGN = "assign"
    DONE = "done"
    CLASSIFY = "classify"
    CONFIRM_PRIVATE = "confirm_private"
    RETRY_ARCHIVE = "retry_archive"
    ARCHIVE_REPLY = "archive_reply"
    REPORT = "report"


CASEWORKER_ACTIONS = frozenset(
    {Action.VIEW, Action.ASSIGN, Action.DONE, Action.CLASSIFY, Action.ARCHIVE_REPLY}
)


def supervises(org: Organisation, actor: Actor, department: str) -> bool:
    """Whether `actor` has a supervisor's rights on `department`."""
    if actor.kind == "operator":
        return True
    found = org.departments.get(department)
    if found is None:
        return False
    if actor.id in found.supervisors:
        return True
    return any(org.staff_member(s).deputy == actor.id for s in found.supervisors)


def may(
    org: Organisation, actor: Actor, action: Action, department: str, assignee: str | None
) -> bool:
    """Whether `actor` may do `action` on a case of `department` assigned to `assignee`."""
    if supervises(org, actor, department):
        return True
    return (
        actor.kind == "person"
        and assignee is not None
        and assignee == actor.id
        and action in CASEWORKER_ACTIONS
    )


def visible_departments(org: Organisation, actor: Actor) -> list[str]:
    """The departments whose pages `actor` may open, supervised ones first: those they
    supervise (all cases), then those whose mail may be assigned to them (their own cases only;
    the common mailbox's for everyone on staff)."""
    supervised = [key for key in org.departments if supervises(org, actor, key)]
    working = [
        key
        for key in org.departments
        if key not in supervised and actor.kind == "person" and org.may_be_assigned(key, actor.id)
    ]
    return supervised + working


def may_decide_personal(actor: Actor, staff_id: str) -> bool:
    """R16: only the mailbox's owner opts it in or out."""
    return actor.kind == "person" and actor.id == staff_id


def may_record_consent(org: Organisation, actor: Actor, staff_id: str) -> bool:
    """R16: who may record that the owner of a mailbox consented to its offboarding sweep."""
    if actor.kind == "operator" or actor.id == staff_id:
        return True
    return any(
        staff_id in department.caseworkers + department.supervisors and supervises(org, actor, key)
        for key, department in org.departments.items()
    )
