"""Answering commands on `sakspost.cmd.<verb>` (issue 19): the same for every service that owns
state (the router, websak, ingest).

Each request is answered, whatever happens: a validated request runs, a malformed one gets
`invalid_request`, a refusal its code, a bug `internal`. Before a verb touches anything, `Gate`
takes its actor from the token in the message's headers (`bearer.py`) and checks that they may act
(`rights.py`); each refusal is logged at warning with the verb, the case, the reason and who the
token claimed to be, so operators see who tried. The token itself is never logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import structlog
from faststream.middlewares import ExceptionMiddleware
from faststream.nats import NatsRouter
from pydantic import ValidationError

from schemas.commands import (
    COMMANDS,
    CommandError,
    CommandReply,
    ErrorCode,
    Verb,
    command_description,
)
from services.common.actors import Actor
from services.common.bearer import BearerVerifier, Unauthenticated
from services.common.clock import Clock
from services.common.errors import TransientError
from services.common.orgconfig import Organisation
from services.common.rights import Action, may
from services.common.settings import Settings

log = structlog.get_logger(__name__)

# What carries out a service's commands once it has started (the router's `Commands`, …).
Handler = TypeVar("Handler")


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


async def answer(
    service: str, verb: Verb, work: Awaitable[CommandReply], clock: Clock
) -> CommandReply:
    """The reply to one request; never raises."""
    reply: CommandReply
    try:
        reply = await work
    except Refused as refused:
        reply = CommandReply(ok=False, error=refused.error)
    except TransientError as error:
        reply = CommandReply(ok=False, error=CommandError(code=ErrorCode.BUSY, message=str(error)))
    except Exception as error:  # a bug must still answer the person, and be logged
        log.exception("command failed", verb=verb.value)
        message = f"{type(error).__name__}: {service} could not carry out the command"
        reply = CommandReply(ok=False, error=CommandError(code=ErrorCode.INTERNAL, message=message))
    if reply.now is None:
        reply = reply.model_copy(update={"now": clock()})
    return reply


async def answer_verified(
    service: str,
    verb: Verb,
    headers: Mapping[str, str] | None,
    case_id: str | None,
    ready: tuple[Gate, Handler] | None,
    work: Callable[[Handler, Actor], Awaitable[CommandReply]],
    clock: Clock,
) -> CommandReply:
    """The reply to one request of `service`: `starting` until it is `ready` (its gate and what
    carries out its commands), else `work` for the actor the message's token proves (a refusal
    when it proves none); never raises."""

    async def verified() -> CommandReply:
        if ready is None:
            return starting(service)
        gate, handler = ready
        return await work(handler, await gate.actor(verb, headers, case_id))

    return await answer(service, verb, verified(), clock)


def starting(service: str) -> CommandReply:
    """The reply before the service has started: try again."""
    return CommandReply(
        ok=False, error=CommandError(code=ErrorCode.BUSY, message=f"the {service} is starting")
    )


def command_router(clock: Clock) -> NatsRouter:
    """A router for command handlers: a request that does not validate as the handler's model
    still gets a reply naming the problem (`invalid_request`)."""
    return NatsRouter(
        middlewares=(
            ExceptionMiddleware(
                publish_handlers={ValidationError: lambda error: invalid_request(error, clock())}
            ),
        )
    )


def command_subscriber(router: NatsRouter, verb: Verb) -> Callable[[Any], Any]:
    """The handler of `verb` (one replica of its service answers each request); its AsyncAPI
    description says which token it needs and who may run it."""
    request, reply = COMMANDS[verb]
    return router.subscriber(
        verb.subject,
        queue=verb.answerer,
        title=f"cmd.{verb.value}",
        description=command_description(verb, request, reply),
    )


def command_gate(settings: Settings, org: Organisation) -> Gate:
    """The gate of a service that answers commands, made when it starts: without Sakspost's own
    app registration it raises `SettingsError` naming what is unset, and the service does not
    start rather than answer anyone. (Not when it is built: `sakspost provision` and the schema
    export build every service and answer nothing.)"""
    return Gate(BearerVerifier.from_settings(settings.auth(), org), org)


class Gate:
    """Who is asking, proven by their token, and whether they may: or a refusal, logged."""

    def __init__(self, verifier: BearerVerifier, org: Organisation) -> None:
        self._verifier = verifier
        self.org = org

    async def actor(
        self, verb: Verb, headers: Mapping[str, str] | None, case_id: str | None = None
    ) -> Actor:
        try:
            return await self._verifier.verify_headers(headers)
        except Unauthenticated as refused:
            _log_refusal(verb, case_id, refused.reason, refused.claimed)
            if refused.reason == "keys_unavailable":
                # Not the caller's fault: Entra ID's keys could not be fetched. Try again.
                raise TransientError("the tenant's signing keys cannot be fetched now") from None
            raise Refused(
                ErrorCode.UNAUTHENTICATED,
                f"the command carries no valid token ({refused.reason})",
                reason=refused.reason,
            ) from None

    def require(
        self,
        verb: Verb,
        actor: Actor,
        action: Action,
        department: str,
        assignee: str | None,
        case_id: str | None = None,
    ) -> None:
        """Refuses unless `actor` may do `action` on a case of `department` assigned to
        `assignee`."""
        if not may(self.org, actor, action, department, assignee):
            self.forbid(verb, actor, case_id, department)

    def forbid(self, verb: Verb, actor: Actor, case_id: str | None, department: str) -> None:
        _log_refusal(verb, case_id, "forbidden", actor.id)
        raise Refused(
            ErrorCode.FORBIDDEN,
            f"{actor.id} may not {verb.value} this case of {department}",
            actor=actor.id,
            department=department,
            verb=verb.value,
        )


def _log_refusal(verb: Verb, case_id: str | None, reason: str, claimed: str | None) -> None:
    log.warning("command refused", verb=verb.value, case_id=case_id, reason=reason, claimed=claimed)
