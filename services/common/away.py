"""Who is away: their Outlook automatic replies are on now (R10, R11).

Automatic replies that are always on mean away; scheduled ones mean away from their start until
their end, read in the time zone Graph names (`services.common.graphtime`, the organisation's zone
when it names none). The state is read through Graph (`mailboxSettings`) and kept for a while, so a
storm of cases or alerts costs one read per person.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.users.item.mailbox_settings.mailbox_settings_request_builder import (
    MailboxSettingsRequestBuilder,
)
from msgraph.graph_service_client import GraphServiceClient

from services.common.clock import Clock
from services.common.graph import graph_failure
from services.common.graphtime import read_graph_time
from services.common.orgconfig import Organisation
from services.common.standin import supervisors_and_deputies, supervisors_on_duty

log = structlog.get_logger(__name__)

NOT_FOUND = 404
# Graph allows 4 concurrent requests per app and mailbox; automatic replies are read per person.
MAX_CONCURRENT_LOOKUPS = 4


def replies_on(setting: Any, now: datetime, zone: tzinfo) -> bool:
    """Whether an `automaticRepliesSetting` is answering at `now`; `zone` when it names none."""
    status = getattr(getattr(setting, "status", None), "value", None)
    if status == "alwaysEnabled":
        return True
    if status != "scheduled":
        return False
    start = read_graph_time(getattr(setting, "scheduled_start_date_time", None), zone)
    end = read_graph_time(getattr(setting, "scheduled_end_date_time", None), zone)
    return start is not None and end is not None and start <= now < end


class AwayCheck:
    """Reads who is away through a service's own Graph client, cached for `ttl_seconds`.

    Graph busy or down raises `TransientError`, any other refusal `GraphRefused`: whether not
    knowing should wait or go ahead is the caller's decision. Without a mailbox nobody is away.
    """

    def __init__(
        self, graph: GraphServiceClient, org: Organisation, clock: Clock, ttl_seconds: float
    ) -> None:
        self._graph = graph
        self._org = org
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._zone = ZoneInfo(org.timezone)
        self._cache: dict[str, tuple[datetime, bool]] = {}
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_LOOKUPS)
        self._reading: dict[str, asyncio.Future[bool]] = {}

    async def away(self, staff_ids: Iterable[str]) -> frozenset[str]:
        """Which of `staff_ids` are away now."""
        wanted = sorted(set(staff_ids))
        answers = await asyncio.gather(*(self.is_away(staff_id) for staff_id in wanted))
        return frozenset(staff_id for staff_id, away in zip(wanted, answers, strict=True) if away)

    async def supervisors_on_duty(self, department: str) -> list[str]:
        """The supervisors, or their standing-in deputies, who hear about `department` now."""
        away = await self.away(supervisors_and_deputies(self._org, department))
        return supervisors_on_duty(self._org, department, away)

    async def is_away(self, staff_id: str) -> bool:
        now = self._clock()
        cached = self._cache.get(staff_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        # One read per person at a time: facts handled at once (and a burst after a start or
        # the cache's expiry) share it instead of each asking Graph.
        reading = self._reading.get(staff_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read_and_keep(staff_id, now))
            self._reading[staff_id] = reading
            reading.add_done_callback(lambda _: self._reading.pop(staff_id, None))
        return await asyncio.shield(reading)

    async def _read_and_keep(self, staff_id: str, now: datetime) -> bool:
        async with self._limit:
            away = await self._read(staff_id, now)
        self._cache[staff_id] = (now, away)
        return away

    async def _read(self, staff_id: str, now: datetime) -> bool:
        address = self._org.staff_member(staff_id).email
        query = MailboxSettingsRequestBuilder.MailboxSettingsRequestBuilderGetQueryParameters(
            select=["automaticRepliesSetting"]
        )
        try:
            settings = await self._graph.users.by_user_id(address).mailbox_settings.get(
                request_configuration=RequestConfiguration(query_parameters=query)
            )
        except APIError as error:
            if error.response_status_code == NOT_FOUND:
                log.warning("no mailbox settings for staff member", staff_id=staff_id)
                return False
            raise graph_failure(error, "automatic replies") from error
        return replies_on(getattr(settings, "automatic_replies_setting", None), now, self._zone)
