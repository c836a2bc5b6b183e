"""What the router does with each mail event it consumes (R9–R13, R17).

- `received` opens the case; `classified` routes it (department, assignee, deadline) and publishes
  `routed`; `archived` makes it Ferdig via archive; `changed` hears a human in Outlook; `deleted`
  alerts the supervisors (R13).
- A fact about a case not opened yet (`classified` overtaking `received` on another replica) is
  retried as transient for a while; after that it is an error, which the retry discipline turns
  into a dead letter with an alert. A deletion is alerted even then.
- Outlook not updated because Graph is busy is transient too: the redelivery finds the case
  already changed and only retries the write-back.
"""

from __future__ import annotations

from schemas.events import (
    Alert,
    MailArchived,
    MailChanged,
    MailClassified,
    MailDeleted,
    MailEventBase,
    MailReceived,
)
from schemas.identity import make_event_id
from schemas.vocab import AlertKind
from services.common.clock import Clock
from services.common.errors import TransientError
from services.common.publisher import EventPublisher
from services.router.case import CaseRecord, Transition, apply_archived, note_deleted
from services.router.keeper import Applied, CaseKeeper, CaseMissing, Shown
from services.router.outlook import hear_outlook_change

CaseFact = MailClassified | MailArchived | MailChanged | MailDeleted


class EventHandlers:
    def __init__(
        self,
        keeper: CaseKeeper,
        publisher: EventPublisher,
        clock: Clock,
        case_wait_seconds: float,
    ) -> None:
        self._keeper = keeper
        self._ctx = keeper.ctx
        self._publisher = publisher
        self._clock = clock
        self._case_wait_seconds = case_wait_seconds

    async def handle(self, event: MailEventBase) -> None:
        if isinstance(event, MailReceived):
            await self._keeper.open(event)
            return
        if not isinstance(event, CaseFact):
            raise ValueError(f"the router does not consume {type(event).__name__} events")
        try:
            applied = await self._apply(event)
        except CaseMissing:
            await self._case_missing(event)
            return
        if applied.outlook_pending:
            raise TransientError(f"case {event.case_id}: Outlook write-back pending")

    async def _apply(self, event: CaseFact) -> Applied:
        keeper, ctx, at = self._keeper, self._ctx, event.occurred_at

        async def decide(record: CaseRecord) -> Transition:
            if isinstance(event, MailClassified):
                return await keeper.classify(record, event)
            if isinstance(event, MailArchived):
                return apply_archived(record, event, ctx, at)
            if isinstance(event, MailChanged):
                return await keeper.replan(hear_outlook_change(record, event, ctx, at), at)
            return note_deleted(record, event, at)

        shown = (
            Shown(list(event.categories), event.flag_status, event.change_key)
            if isinstance(event, MailChanged)
            else None
        )
        return await keeper.apply(event.case_id, decide, shown)

    async def _case_missing(self, event: CaseFact) -> None:
        waited = (self._clock() - event.occurred_at).total_seconds()
        if waited < self._case_wait_seconds:
            raise TransientError(f"case {event.case_id} is not opened yet")
        if isinstance(event, MailDeleted):
            # R13: a deletion is told to the supervisors even of a mail Sakspost never saw.
            await self._publisher.publish(
                Alert(
                    event_id=make_event_id("alert.deleted", event.case_id, event.event_id),
                    case_id=event.case_id,
                    occurred_at=event.occurred_at,
                    department=event.department,
                    kind=AlertKind.DELETED,
                    summary="A mail unknown to Sakspost left a shared mailbox (R13)",
                    case_ids=[event.case_id],
                )
            )
            return
        raise CaseMissing(
            f"case {event.case_id} was never opened: no received event within "
            f"{self._case_wait_seconds:.0f} s of this {event.type} event"
        )
