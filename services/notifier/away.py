"""Who receives a department's alerts and digest: its supervisors, or a supervisor's deputy while
the supervisor's Outlook automatic replies are on (R10). The state is read through Graph
(`mailboxSettings`) and kept for a while, so a storm of alerts costs one read per person.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import structlog
from kiota_abstractions.api_error import APIError
from msgraph.graph_service_client import GraphServiceClient

from services.common.orgconfig import Organisation, StaffMember
from services.notifier.notice import Clock

log = structlog.get_logger(__name__)


def _graph_time(value: Any) -> datetime | None:
    """A Graph dateTimeTimeZone (seven fractional digits, a zone name) as an aware datetime."""
    text = getattr(value, "date_time", None)
    if not isinstance(text, str):
        return None
    zone_name = getattr(value, "time_zone", None) or "UTC"
    try:
        zone: Any = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    moment = datetime.fromisoformat(text[:26])
    return moment.replace(tzinfo=moment.tzinfo or zone)


def replies_on(setting: Any, now: datetime) -> bool:
    """Whether an automaticRepliesSetting is answering at `now`."""
    status = str(getattr(getattr(setting, "status", None), "value", "")).lower()
    if status == "alwaysenabled":
        return True
    if status != "scheduled":
        return False
    start = _graph_time(getattr(setting, "scheduled_start_date_time", None))
    end = _graph_time(getattr(setting, "scheduled_end_date_time", None))
    return start is not None and end is not None and start <= now < end


def choose_recipients(org: Organisation, department: str, away: set[str]) -> list[StaffMember]:
    """Each supervisor, or their deputy when the supervisor is away and the deputy is not."""
    chosen: list[StaffMember] = []
    for staff_id in org.departments[department].supervisors:
        member = org.staff_member(staff_id)
        if member.id in away and member.deputy and member.deputy not in away:
            member = org.staff_member(member.deputy)
        if member not in chosen:
            chosen.append(member)
    return chosen


class AwayCheck:
    def __init__(self, graph: GraphServiceClient, ttl_seconds: float, clock: Clock) -> None:
        self._graph = graph
        self._ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock
        self._cache: dict[str, tuple[datetime, bool]] = {}

    async def is_away(self, member: StaffMember) -> bool:
        now = self._clock()
        cached = self._cache.get(member.email)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            settings = await self._graph.users.by_user_id(member.email).mailbox_settings.get()
        except (APIError, httpx.TransportError) as error:
            # Not knowing is no reason to withhold an alert: tell the supervisor themself.
            log.warning("automatic replies unknown", staff=member.id, error=type(error).__name__)
            return False
        away = replies_on(getattr(settings, "automatic_replies_setting", None), now)
        self._cache[member.email] = (now, away)
        return away

    async def recipients(self, org: Organisation, department: str) -> list[StaffMember]:
        away: set[str] = set()
        for staff_id in org.departments[department].supervisors:
            member = org.staff_member(staff_id)
            if await self.is_away(member):
                away.add(member.id)
                if member.deputy and await self.is_away(org.staff_member(member.deputy)):
                    away.add(member.deputy)
        return choose_recipients(org, department, away)
