"""Who is away and who stands in (R10), one rule for the router and the notifier.

The two services used to disagree: the notifier read a zone-less scheduled reply as UTC and kept
a supervisor whose deputy was away; the router read it in the organisation's zone and dropped that
supervisor. Both now ask `services.common.away.AwayCheck`; these tests walk each service's own way
in (the router's `people_to_check` + `supervisors_on_duty`, the notifier's `supervisors_to_tell`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import yaml
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.automatic_replies_setting import AutomaticRepliesSetting
from msgraph.generated.models.automatic_replies_status import AutomaticRepliesStatus
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.mailbox_settings import MailboxSettings
from msgraph.graph_service_client import GraphServiceClient

from services.common.away import AwayCheck, replies_on
from services.common.errors import TransientError
from services.common.graphtime import read_graph_time, zone_named
from services.common.orgconfig import Organisation, parse_organisation
from services.common.standin import supervisors_on_duty
from services.notifier.runtime import supervisors_to_tell
from services.router.planner import people_to_check
from tests.router.builders import CONFIG

OSLO = ZoneInfo("Europe/Oslo")
# 10:30 in Oslo (UTC+1 in December): the cases pick schedules whose wall-clock times give opposite
# answers when read in the organisation's zone and when read as UTC.
NOW = datetime(2026, 12, 7, 10, 30, tzinfo=OSLO)


def wall(hour: int, minute: int = 0) -> str:
    """A wall-clock time on NOW's day as Graph writes it (seven fractional digits)."""
    return f"2026-12-07T{hour:02d}:{minute:02d}:00.0000000"


def scheduled(start: str, end: str, zone: str | None) -> MailboxSettings:
    replies = AutomaticRepliesSetting(
        status=AutomaticRepliesStatus.Scheduled,
        scheduled_start_date_time=DateTimeTimeZone(date_time=start, time_zone=zone),
        scheduled_end_date_time=DateTimeTimeZone(date_time=end, time_zone=zone),
    )
    return MailboxSettings(automatic_replies_setting=replies)


ALWAYS = MailboxSettings(
    automatic_replies_setting=AutomaticRepliesSetting(status=AutomaticRepliesStatus.AlwaysEnabled)
)


@dataclass
class FakeGraph:
    """Just enough of GraphServiceClient for `users/{id}/mailboxSettings` GETs."""

    settings: dict[str, MailboxSettings | Exception]
    reads: list[str] = field(default_factory=list)
    _user: str = ""

    @property
    def users(self) -> FakeGraph:
        return self

    def by_user_id(self, address: str) -> FakeGraph:
        return FakeGraph(self.settings, self.reads, address)

    @property
    def mailbox_settings(self) -> FakeGraph:
        return self

    async def get(self, request_configuration: Any = None) -> MailboxSettings | None:
        self.reads.append(self._user)
        await asyncio.sleep(0)  # a real read waits on the network: others run meanwhile
        found = self.settings.get(self._user)
        if isinstance(found, Exception):
            raise found
        return found


def two_supervisors() -> Organisation:
    """bygg with a second supervisor: one supervisor away differs from all of them away."""
    data = yaml.safe_load(CONFIG.read_text())
    data["departments"]["bygg"]["supervisors"] = ["ingrid.grodem", "jonas.tjelta"]
    return parse_organisation(data, CONFIG)


def address(org: Organisation, staff_id: str) -> str:
    return org.staff_member(staff_id).email


async def router_view(org: Organisation, graph: FakeGraph) -> list[str]:
    """As the router plans a case: everyone the assignment may pick, then the supervisors."""
    check = AwayCheck(cast(GraphServiceClient, graph), org, lambda: NOW, ttl_seconds=60)
    away = await check.away(people_to_check(org, "bygg", None))
    return supervisors_on_duty(org, "bygg", away)


async def notifier_view(org: Organisation, graph: FakeGraph) -> list[str]:
    check = AwayCheck(cast(GraphServiceClient, graph), org, lambda: NOW, ttl_seconds=60)
    return [member.id for member in await supervisors_to_tell(check, org, "bygg")]


AGREEMENT_CASES = {
    # A zone-less schedule 10:00-11:00 is Oslo time: away now. Read as UTC (11:00-12:00 in Oslo)
    # the supervisor would still be at work.
    "zone-less schedule": (
        {"ingrid.grodem": scheduled(wall(10), wall(11), None)},
        ["kristin.hovland", "jonas.tjelta"],
    ),
    "garbled zone": (
        {"ingrid.grodem": scheduled(wall(10), wall(11), "Mars/Olympus")},
        ["kristin.hovland", "jonas.tjelta"],
    ),
    "windows zone": (
        {"ingrid.grodem": scheduled(wall(10), wall(11), "W. Europe Standard Time")},
        ["kristin.hovland", "jonas.tjelta"],
    ),
    # 09:00-10:00 UTC is 10:00-11:00 in Oslo: an explicit UTC stays UTC.
    "utc schedule": (
        {"ingrid.grodem": scheduled(wall(9), wall(10), "UTC")},
        ["kristin.hovland", "jonas.tjelta"],
    ),
    "schedule over": (
        {"ingrid.grodem": scheduled(wall(8), wall(10), "Europe/Oslo")},
        ["ingrid.grodem", "jonas.tjelta"],
    ),
    # An away deputy cannot stand in; the other supervisor, present, hears it.
    "supervisor and deputy away": (
        {"ingrid.grodem": ALWAYS, "kristin.hovland": ALWAYS},
        ["jonas.tjelta"],
    ),
    # Nobody present: the configured supervisors rather than nobody.
    "everyone away": (
        {
            name: ALWAYS
            for name in ("ingrid.grodem", "kristin.hovland", "jonas.tjelta", "mari.sirevag")
        },
        ["ingrid.grodem", "jonas.tjelta"],
    ),
}


@pytest.mark.parametrize("case", sorted(AGREEMENT_CASES))
async def test_router_and_notifier_agree_on_who_is_away_and_who_stands_in(case: str) -> None:
    org = two_supervisors()
    by_id, expected = AGREEMENT_CASES[case]
    settings: dict[str, MailboxSettings | Exception] = {
        address(org, staff_id): value for staff_id, value in by_id.items()
    }
    assert await router_view(org, FakeGraph(settings)) == expected
    assert await notifier_view(org, FakeGraph(settings)) == expected


def test_a_deputy_stands_in_only_while_the_supervisor_is_away(org: Organisation) -> None:  # R10
    assert supervisors_on_duty(org, "bygg", set()) == ["ingrid.grodem"]
    assert supervisors_on_duty(org, "bygg", {"ingrid.grodem"}) == ["kristin.hovland"]
    everyone_away = {"ingrid.grodem", "kristin.hovland"}
    assert supervisors_on_duty(org, "bygg", everyone_away) == ["ingrid.grodem"]


async def test_not_knowing_who_is_away_the_router_waits_and_the_notifier_tells_the_supervisors(
    org: Organisation,
) -> None:
    busy = APIError("throttled")
    busy.response_status_code = 429
    graph = FakeGraph({address(org, "ingrid.grodem"): busy})
    check = AwayCheck(cast(GraphServiceClient, graph), org, lambda: NOW, ttl_seconds=60)
    with pytest.raises(TransientError):
        await check.away(["ingrid.grodem"])
    assert [m.id for m in await supervisors_to_tell(check, org, "bygg")] == ["ingrid.grodem"]


async def test_a_person_without_a_mailbox_is_not_away_and_answers_are_cached(
    org: Organisation,
) -> None:
    gone = APIError("not found")
    gone.response_status_code = 404
    moments = [NOW]
    graph = FakeGraph(
        {address(org, "ingrid.grodem"): gone, address(org, "kristin.hovland"): ALWAYS}
    )
    check = AwayCheck(cast(GraphServiceClient, graph), org, lambda: moments[-1], ttl_seconds=60)
    assert await check.away(["ingrid.grodem", "kristin.hovland"]) == {"kristin.hovland"}
    await check.away(["ingrid.grodem", "kristin.hovland"])
    assert len(graph.reads) == 2
    moments.append(NOW + timedelta(seconds=61))
    await check.away(["kristin.hovland"])
    assert len(graph.reads) == 3


async def test_facts_handled_at_once_share_one_read_per_person(org: Organisation) -> None:
    graph = FakeGraph({address(org, "kristin.hovland"): ALWAYS})
    check = AwayCheck(cast(GraphServiceClient, graph), org, lambda: NOW, ttl_seconds=60)
    answers = await asyncio.gather(*(check.is_away("kristin.hovland") for _ in range(5)))
    assert answers == [True] * 5
    assert graph.reads == [address(org, "kristin.hovland")]


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (None, OSLO),
        ("", OSLO),
        ("Mars/Olympus", OSLO),
        ("W. Europe Standard Time", ZoneInfo("Europe/Oslo")),
        ("Pacific Standard Time", ZoneInfo("America/Los_Angeles")),
        ("UTC", ZoneInfo("UTC")),
        ("Europe/Helsinki", ZoneInfo("Europe/Helsinki")),
    ],
)
def test_a_zone_name_is_windows_or_iana_and_the_organisations_zone_otherwise(
    zone: str | None, expected: ZoneInfo
) -> None:
    assert zone_named(zone, OSLO) == expected


def test_graph_times_keep_seven_digits_and_an_offset_in_the_time_wins() -> None:
    seven = read_graph_time(DateTimeTimeZone(date_time=wall(10, 5), time_zone="UTC"), OSLO)
    assert seven == datetime(2026, 12, 7, 10, 5, tzinfo=UTC)
    offset = DateTimeTimeZone(date_time="2026-12-07T10:05:00.1234567+02:00", time_zone="UTC")
    moment = read_graph_time(offset, OSLO)
    assert moment is not None and moment.utcoffset() == timedelta(hours=2)
    assert read_graph_time(DateTimeTimeZone(date_time="not a time"), OSLO) is None
    assert read_graph_time(None, OSLO) is None


def test_replies_disabled_or_unscheduled_are_not_away() -> None:
    disabled = AutomaticRepliesSetting(status=AutomaticRepliesStatus.Disabled)
    assert not replies_on(disabled, NOW, OSLO)
    assert not replies_on(None, NOW, OSLO)
    assert replies_on(ALWAYS.automatic_replies_setting, NOW, OSLO)
