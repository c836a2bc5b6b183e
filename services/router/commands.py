"""The supervisors' commands on `sakspost.cmd.<verb>` (R11, R12, R17), executed by the router, the
only writer of case records. Every request gets a reply: the case, or an error naming the problem.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

import structlog
from pydantic import ValidationError

from schemas.commands import (
    CaseAssignRequest,
    CaseClassifyRequest,
    CaseDoneRequest,
    CaseListReply,
    CaseListRequest,
    CaseReply,
    CaseShowRequest,
    CommandError,
    CommandReply,
    ErrorCode,
    Verb,
)
from schemas.identity import make_event_id
from schemas.vocab import AssignmentPolicy, CompletedVia, Status
from services.common.clock import Clock
from services.common.errors import TransientError
from services.router.facts import AssignFact, ClassifyFact, DoneFact, Fact
from services.router.flow import Applied, CaseFlow
from services.router.record import CaseRecord
from services.router.transitions import CaseError
from services.router.views import detail, summary
from services.router.watch import select_cases

log = structlog.get_logger(__name__)

# The actor recorded when a reassignment does not say who made it.
UNNAMED_ACTOR = "cli"


class Refused(Exception):
    """The request cannot be carried out; the reply says why."""

    def __init__(self, code: ErrorCode, message: str, **params: str) -> None:
        super().__init__(message)
        self.error = CommandError(code=code, message=message, params=params)


def invalid_request(error: ValidationError, now: datetime) -> CommandReply:
    """The reply to a request that does not validate as its verb's model."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in item['loc'][1:]) or 'body'}: {item['msg']}"
        for item in error.errors()
    )
    return CommandReply(
        ok=False,
        error=CommandError(code=ErrorCode.INVALID_REQUEST, message=f"invalid request: {problems}"),
        now=now,
    )


class Commands:
    """Each verb takes its validated request; `answer` turns any outcome into a reply."""

    def __init__(self, flow: CaseFlow, clock: Clock) -> None:
        self._flow = flow
        self._ctx = flow.ctx
        self._clock = clock

    async def answer(self, verb: Verb, work: Awaitable[CommandReply]) -> CommandReply:
        """The reply to one request; never raises."""
        reply: CommandReply
        try:
            reply = await work
        except Refused as refused:
            reply = CommandReply(ok=False, error=refused.error)
        except TransientError as error:
            reply = CommandReply(
                ok=False, error=CommandError(code=ErrorCode.BUSY, message=str(error))
            )
        except Exception as error:  # a bug must still answer the supervisor, and be logged
            log.exception("command failed", verb=verb.value)
            message = f"{type(error).__name__}: the router could not carry out the command"
            reply = CommandReply(
                ok=False, error=CommandError(code=ErrorCode.INTERNAL, message=message)
            )
        if reply.now is None:
            reply = reply.model_copy(update={"now": self._clock()})
        return reply

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

    def _case_reply(self, applied: Applied) -> CaseReply:
        return CaseReply(
            case=detail(applied.record, self._ctx, self._clock()),
            changed=bool(applied.transition.events),
            outlook_pending=applied.outlook_pending,
        )

    # --- verbs ----------------------------------------------------------------------------

    async def list_cases(self, request: CaseListRequest) -> CaseListReply:
        if request.department is not None and request.department not in self._ctx.org.departments:
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
            records,
            now,
            department=request.department,
            status=request.status,
            assignee=request.assignee,
            overdue=request.overdue,
        )
        return CaseListReply(cases=[summary(r, self._ctx, now) for r in chosen], now=now)

    async def show(self, request: CaseShowRequest) -> CaseReply:
        record = await self._record(request.case_id)
        return CaseReply(case=detail(record, self._ctx, self._clock()))

    async def assign(self, request: CaseAssignRequest) -> CaseReply:
        self._check_staff(request.to)
        if request.by is not None:
            self._check_staff(request.by)
        record = await self._record(request.case_id)
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
            by=request.by or UNNAMED_ACTOR,
            policy=AssignmentPolicy.MANUAL,
        )
        return self._case_reply(await self._apply(request.case_id, fact))

    async def done(self, request: CaseDoneRequest) -> CaseReply:
        self._check_staff(request.by)
        await self._record(request.case_id)
        fact = DoneFact(
            fact_id=make_event_id("cmd.done", request.case_id, request.request_id),
            by=self._ctx.staff_party(request.by),
            via=CompletedVia.COMMAND,
        )
        return self._case_reply(await self._apply(request.case_id, fact))

    async def classify(self, request: CaseClassifyRequest) -> CaseReply:
        self._check_staff(request.by)
        record = await self._record(request.case_id)
        if record.mail_class is None:
            raise Refused(
                ErrorCode.NOT_CLASSIFIED,
                f"case {request.case_id} has no class yet; wait for the classifier",
                case_id=request.case_id,
            )
        fact = ClassifyFact(
            fact_id=make_event_id("cmd.classify", request.case_id, request.request_id),
            mail_class=request.mail_class,
            by=self._ctx.staff_party(request.by),
            via=CompletedVia.COMMAND,
        )
        return self._case_reply(await self._apply(request.case_id, fact))

    async def _apply(self, case_id: str, fact: Fact) -> Applied:
        """The fact applied now, through the same flow as every mail event."""
        try:
            return await self._flow.apply(case_id, fact, self._clock())
        except CaseError as error:
            raise Refused(ErrorCode.INVALID_REQUEST, str(error), case_id=case_id) from None
