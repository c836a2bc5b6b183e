"""`sakspost.cmd.personal_decide`: a person opts their own mailbox in or out (R9c, R15, R16).

Ingest answers it: the decision lives in its KV bucket, and its watch follows it (an opt-out ends
the subscriptions and forgets every cursor, `watcher.py`). The owner is the token's person; nobody
decides for anyone else (`rights.may_decide_personal`), and no body names whom it is for. The
decision records who (the owner) and when; a repeated request (same `request_id`) is the decision
already recorded, not a new one.
"""

from __future__ import annotations

from schemas.commands import PersonalDecideRequest, PersonalReply, Verb
from services.common.actors import Actor
from services.common.clock import Clock
from services.common.commanding import Gate
from services.common.rights import may_decide_personal
from services.ingest.personal.state import Decision, PersonalState


class PersonalDecisions:
    def __init__(self, state: PersonalState, gate: Gate, clock: Clock) -> None:
        self._state = state
        self.gate = gate
        self._clock = clock

    async def decide(self, request: PersonalDecideRequest, actor: Actor) -> PersonalReply:
        if not may_decide_personal(actor, actor.id):
            # An operator's application has no mailbox of its own to decide for.
            self.gate.forbid(Verb.PERSONAL_DECIDE, actor, None, "personal")
        recorded = await self._state.decision(actor.id)
        if recorded is None or recorded.request_id != request.request_id:
            recorded = Decision(
                staff_id=actor.id,
                opted_in=request.opted_in,
                at=self._clock(),
                by=actor.id,
                request_id=request.request_id,
            )
            await self._state.decide(recorded)
        return PersonalReply(staff_id=actor.id, opted_in=recorded.opted_in, at=recorded.at)
