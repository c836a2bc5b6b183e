"""The I/O of a routing plan: gather what `plan.plan_case` needs, then call it (R5, R10, R11).

For a fact that asks for a plan (`plan.plan_request`): the department is decided once
(`routing.route_department`); then the department's workboard (its open cases and rotation), the
caseworker of the conversation's first mail, and who among the people the assignment may pick is
away (automatic replies) are read, and the plan is made. The workboard's revision comes with the
plan: the flow claims the decision on exactly that board (compare-and-set), so two replicas never
both pick the same caseworker of a department as least loaded.

A caseworker may belong to several departments, and load counts their open cases in all of them:
the boards of those departments are read too, but not claimed. Claiming them as well would make
every department sharing a person (and the common department, whose cases anyone may take) one
serialised unit again. The price: two departments assigning to one shared person at the same
moment may each not yet see the other's case, so that person's load can run one case ahead until
the next decision sees both. No case is ever assigned twice, and within a department the load and
the rotation stay exact.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.common.away import AwayCheck
from services.common.orgconfig import Organisation
from services.router.assignment import Workload
from services.router.context import RouterContext
from services.router.facts import Fact
from services.router.plan import RoutingPlan, plan_case, plan_request
from services.router.record import CaseRecord
from services.router.routing import route_department
from services.router.store import CaseStore
from services.router.workboard import Workboard


@dataclass(frozen=True)
class Planned:
    """A plan and the workboard it was made on."""

    plan: RoutingPlan
    board: Workboard
    board_revision: int


def people_to_check(org: Organisation, department: str, thread_owner: str | None) -> set[str]:
    """Everyone the assignment of a case in `department` may pick, with their deputies."""
    config = org.departments[department]
    people = {*config.caseworkers, *config.supervisors}
    people.update(rule.assignee for rule in config.assignment.rules)
    if thread_owner is not None:
        people.add(thread_owner)
    deputies = {org.staff_member(person).deputy for person in people}
    return people | {deputy for deputy in deputies if deputy is not None}


def boards_to_count(org: Organisation, department: str) -> list[str]:
    """The departments whose boards may hold open cases of `department`'s caseworkers: every
    department they are members of, and the common one (anyone may take its cases, R8)."""
    people = set(org.departments[department].caseworkers)
    found = {department, org.common_department}
    for key, config in org.departments.items():
        if not people.isdisjoint([*config.caseworkers, *config.supervisors]):
            found.add(key)
    return sorted(found)


class Planner:
    def __init__(self, ctx: RouterContext, store: CaseStore, replies: AwayCheck) -> None:
        self._ctx = ctx
        self._store = store
        self._replies = replies

    async def plan(self, record: CaseRecord, fact: Fact) -> Planned | None:
        """The plan `fact` needs on `record` as it is now, or None when it needs none."""
        org = self._ctx.org
        request = plan_request(record, fact, org)
        if request is None:
            return None
        department = route_department(
            org, record.mailbox_department, request.suggested_department, request.facts.confidence
        )
        board, board_revision = await self._store.load_workboard(department.department)
        elsewhere = await asyncio.gather(
            *(
                self._store.load_workboard(other)
                for other in boards_to_count(org, department.department)
                if other != department.department
            )
        )
        open_cases = board.open_counts(excluding=record.case_id)
        for other, _ in elsewhere:
            open_cases.update(other.open_counts(excluding=record.case_id))
        owner = await self._thread_owner(record)
        away = await self._replies.away(people_to_check(org, department.department, owner))
        plan = plan_case(
            self._ctx,
            department=department,
            facts=request.facts,
            received_at=record.received_at,
            workload=Workload(open_cases, owner),
            away=away,
            rotation=board.rotation,
        )
        return Planned(plan, board, board_revision)

    async def _thread_owner(self, record: CaseRecord) -> str | None:
        """The caseworker of the first mail of the conversation, if that is another case."""
        if record.conversation_id is None:
            return None
        first = await self._store.first_case_of(record.conversation_id)
        if first is None or first[0] == record.case_id:
            return None
        loaded = await self._store.load(first[0])
        return loaded.record.assignee if loaded is not None else None
