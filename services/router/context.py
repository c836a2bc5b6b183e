"""What every piece of the router's logic reads: the organisation and its working calendar."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from schemas.events import Party
from services.common.actors import Actor
from services.common.orgconfig import Organisation
from services.router.calendar import WorkingCalendar

# The name the router signs its own changes with in history and events.
SYSTEM_ACTOR = "sakspost"


@dataclass(frozen=True)
class RouterContext:
    org: Organisation
    calendar: WorkingCalendar

    @classmethod
    def for_organisation(cls, org: Organisation) -> RouterContext:
        hours = org.office_hours
        calendar = WorkingCalendar(
            timezone=ZoneInfo(org.timezone),
            opens=hours.opening_time,
            closes=hours.closing_time,
            closed_month_days=hours.closed_month_days,
        )
        return cls(org=org, calendar=calendar)

    def staff_party(self, staff_id: str) -> Party:
        member = self.org.staff_member(staff_id)
        return Party(address=member.email, name=member.name, id=member.id)

    def actor_party(self, actor: Actor) -> Party:
        """The verified actor of a command: a staff member, or an operator's application, which
        has no mailbox and signs with the organisation's no-reply address and its own id."""
        if actor.kind == "person":
            return self.staff_party(actor.id)
        return Party(address=self.org.no_reply_address, name=actor.name, id=actor.id)

    def system_party(self, name: str = "Sakspost") -> Party:
        """The router (or the archive, or Outlook) acting on its own, as a party of an event."""
        return Party(address=self.org.no_reply_address, name=name)
