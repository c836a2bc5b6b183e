"""The case commands on `sakspost.cmd.<verb>` (R11, R12, R17, issue 19), executed by the router,
the only writer of case records. Every request gets a reply: the case, or an error naming the
problem.

Each verb takes the actor its token proved (`services/common/commanding.py`) and acts only when
`rights.may` lets them on the case's department and assignee; that actor is who the history
records.
"""

from __future__ import annotations

from schemas.commands import (
    CaseAssignRequest,
    CaseClassifyRequest,
    CaseConfirmPrivateRequest,
    CaseDoneRequest,
    CaseListReply,
    CaseListRequest,
    CaseReply,
    CaseShowRequest,
    ErrorCode,
    Verb,
)
from schemas.identity import make_event_id
from schemas.vocab import AssignmentPolicy, CompletedVia, MailClass, Status
from services.common.actors import Actor
from services.common.clock import Clock
from services.common.commanding import Gate, Refused
from services.common.rights import Action, may
from services.router.facts import AssignFact, ClassifyFact, DoneFact, Fact
from services.router.flow import Applied, CaseFlow
from services.router.record import CaseRecord
from services.router.transitions import CaseError
from services.router.views import detail, summary
from services.router.watch import select_cases


class Commands:
    """Each verb takes its validated request and its verified actor."""

    def __init__(self, flow: CaseFlow, gate: Gate, clock: Clock) -> None:
        self._flow = flow
        self._ctx = flow.ctx
        self._gate = gate
        self._clock = clock

    # --- checks ---------------------------------------------------------------------------

    def _check_staff(self, staff_id: str) -> None:
        if not any(member.id == staff_id for member in self._ctx.org.staff):
            raise Refused(
                ErrorCode.UNKNOWN_STAFF, f"unknown staff id {staff_id!r}", staff_id=staff_id
            )

    async def _record(self, case_id: str) -> CaseRecord:
        loaded = await self._flow.store.load(case_id)
        if loaded is None:
            raise Refused(ErrorCode.UNKNOWN_CASE, f"unknown case {case_id!r}", case_id=case_id)
        return loaded.record

    async def _permitted(
        self, verb: Verb, actor: Actor, action: Action, case_id: str
    ) -> CaseRecord:
        """The case, once `actor` may do `action` on it."""
        record = await self._record(case_id)
        self._gate.require(verb, actor, action, record.department, record.assignee, case_id)
        return record

    def _case_reply(self, applied: Applied) -> CaseReply:
        return CaseReply(
            case=detail(applied.record, self._ctx, self._clock()),
            changed=bool(applied.transition.events),
            outlook_pending=applied.outlook_pending,
        )

    # --- verbs ----------------------------------------------------------------------------

    async def list_cases(self, request: CaseListRequest, actor: Actor) -> CaseListReply:
        """The cases the actor may see: supervised departments whole, elsewhere their own."""
        org = self._ctx.org
        if request.department is not None and request.department not in org.departments:
            raise Refused(
                ErrorCode.UNKNOWN_DEPARTMENT,
                f"unknown department {request.department!r}",
                department=request.department,
            )
        if request.assignee is not None:
            self._check_staff(request.assignee)
        only_open = request.overdue or request.status in (Status.NY, Status.TILDELT)
        records = await self._flow.open_records() if only_open else await self._flow.store.records()
        now = self._clock()
        chosen = select_cases(
            [r for r in records if may(org, actor, Action.VIEW, r.department, r.assignee)],
            now,
            department=request.department,
            status=request.status,
            assignee=request.assignee,
            overdue=request.overdue,
        )
        return CaseListReply(cases=[summary(r, self._ctx, now) for r in chosen], now=now)

    async def show(self, request: CaseShowRequest, actor: Actor) -> CaseReply:
        record = await self._permitted(Verb.SHOW, actor, Action.VIEW, request.case_id)
        return CaseReply(case=detail(record, self._ctx, self._clock()))

    async def assign(self, request: CaseAssignRequest, actor: Actor) -> CaseReply:
        self._check_staff(request.to)
        record = await self._permitted(Verb.ASSIGN, actor, Action.ASSIGN, request.case_id)
        if not self._ctx.org.may_be_assigned(record.department, request.to):
            raise Refused(
                ErrorCode.NOT_A_MEMBER,
                f"{request.to!r} is not a member of {record.department!r} (R8)",
                staff_id=request.to,
                department=record.department,
            )
        fact = AssignFact(
            fact_id=make_event_id("cmd.assign", request.case_id, request.request_id),
            staff_id=request.to,
            by=actor.id,
            policy=AssignmentPolicy.MANUAL,
        )
        return self._case_reply(await self._apply(request.case_id, fact))

    async def done(self, request: CaseDoneRequest, actor: Actor) -> CaseReply:
        await self._permitted(Verb.DONE, actor, Action.DONE, request.case_id)
        fact = DoneFact(
            fact_id=make_event_id("cmd.done", request.case_id, request.request_id),
            by=self._ctx.actor_party(actor),
            via=CompletedVia.COMMAND,
        )
        return self._case_reply(await self._apply(request.case_id, fact))

    async def classify(self, request: CaseClassifyRequest, actor: Actor) -> CaseReply:
        record = await self._permitted(Verb.CLASSIFY, actor, Action.CLASSIFY, request.case_id)
        if record.mail_class is None:
            raise Refused(
                ErrorCode.NOT_CLASSIFIED,
                f"case {request.case_id} has no class yet; wait for the classifier",
                case_id=request.case_id,
            )
        fact = ClassifyFact(
            fact_id=make_event_id("cmd.classify", request.case_id, request.request_id),
            mail_class=request.mail_class,
            by=self._ctx.actor_party(actor),
            via=CompletedVia.COMMAND,
        )
        return self._case_reply(await self._apply(request.case_id, fact))

    async def confirm_private(self, request: CaseConfirmPrivateRequest, actor: Actor) -> CaseReply:
        """A supervisor agrees with a `privat` verdict left to confirm (R9d): the case is closed
        Ferdig, recorded as confirmed by them. Rejecting it is `classify` to another class."""
        # Supervisors' work (`rights.py`): a caseworker assignee may not confirm.
        record = await self._permitted(
            Verb.CONFIRM_PRIVATE, actor, Action.CONFIRM_PRIVATE, request.case_id
        )
        if record.mail_class is not MailClass.PRIVAT:
            raise Refused(
                ErrorCode.INVALID_REQUEST,
                f"case {request.case_id} is not classified privat: nothing to confirm",
                case_id=request.case_id,
            )
        fact = DoneFact(
            fact_id=make_event_id("cmd.confirm_private", request.case_id, request.request_id),
            by=self._ctx.actor_party(actor),
            via=CompletedVia.CONFIRMED_PRIVATE,
        )
        return self._case_reply(await self._apply(request.case_id, fact))

    async def _apply(self, case_id: str, fact: Fact) -> Applied:
        """The fact applied now, through the same flow as every mail event."""
        try:
            return await self._flow.apply(case_id, fact, self._clock())
        except CaseError as error:
            raise Refused(ErrorCode.INVALID_REQUEST, str(error), case_id=case_id) from None
