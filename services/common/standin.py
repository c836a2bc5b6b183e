"""Who acts for a person now, and which supervisors hear about a department's cases (R10).

A person acts for themself while present; while away their deputy stands in, unless the deputy is
away too: an absent deputy cannot stand in. An alert must always reach someone, so when no
supervisor and no deputy is present the configured supervisors are told anyway, to read on return.
"""

from __future__ import annotations

from collections.abc import Collection

from services.common.orgconfig import Organisation


def stand_in(org: Organisation, staff_id: str, away: Collection[str]) -> str | None:
    """The person who acts for `staff_id` now: themself, their deputy when away, or nobody."""
    if staff_id not in away:
        return staff_id
    deputy = org.staff_member(staff_id).deputy
    if deputy is not None and deputy not in away:
        return deputy
    return None


def supervisors_on_duty(org: Organisation, department: str, away: Collection[str]) -> list[str]:
    """The supervisors, or their deputies, who hear about a department's cases now (R10).

    Only people present, each once; the configured supervisors when nobody is present.
    """
    configured = org.departments[department].supervisors
    present = [s for s in (stand_in(org, sup, away) for sup in configured) if s is not None]
    return list(dict.fromkeys(present)) or list(configured)


def supervisors_and_deputies(org: Organisation, department: str) -> list[str]:
    """Everyone whose absence `supervisors_on_duty` needs to know."""
    people: list[str] = []
    for supervisor in org.departments[department].supervisors:
        people.append(supervisor)
        deputy = org.staff_member(supervisor).deputy
        if deputy is not None:
            people.append(deputy)
    return list(dict.fromkeys(people))
