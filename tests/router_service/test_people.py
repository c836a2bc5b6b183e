"""Who gets a case (R11): a reply follows the caseworker of the first mail; a caseworker whose
Outlook automatic replies are on gets nothing new; classified may overtake received."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from nats.aio.client import Client

from schemas.vocab import MailClass
from services.common.app import ServiceApp
from services.common.jetstream import CASES_BUCKET
from services.common.orgconfig import Organisation
from services.common.presence import Presence, away_key
from services.common.received import build_received
from services.common.settings import Settings
from services.router.app import RouterHolder, build
from tests.support.events import event_log
from tests.support.signing import TEST_KEYS

from .conftest import QUIET
from .support import FakeClock, Mailroom, mail

HELSE = "helse@ha.kommune.no"


async def test_a_reply_goes_to_the_caseworker_of_the_first_mail(
    router: ServiceApp, mailroom: Mailroom, settings: Settings
) -> None:  # R11
    async with event_log(settings) as log, router.running():
        first = await mailroom.receive(HELSE, mail("Spørsmål", to=HELSE, message_id="t1@x.org"))
        await mailroom.classify(first, MailClass.OFFISIELL)
        ((_, routed_first),) = await log.wait_for_case(first.case_id, "routed")
        # Others arrive in between, so load alone would pick someone else next.
        for number in range(3):
            other = await mailroom.receive(
                HELSE, mail(f"Anna {number}", to=HELSE, message_id=f"o{number}@x.org")
            )
            await mailroom.classify(other, MailClass.OFFISIELL)
            await log.wait_for_case(other.case_id, "routed")
        reply = await mailroom.receive(
            HELSE, mail("Re: Spørsmål", to=HELSE, message_id="t2@x.org", in_reply_to="t1@x.org")
        )
        assert reply.conversation_id == first.conversation_id
        await mailroom.classify(reply, MailClass.OFFISIELL)
        ((_, routed_reply),) = await log.wait_for_case(reply.case_id, "routed")
    assert routed_reply["policy"] == "thread"
    assert routed_reply["assignee"] == routed_first["assignee"]


async def test_an_out_of_office_caseworker_gets_nothing_new(
    router: ServiceApp, mailroom: Mailroom, settings: Settings, org: Organisation
) -> None:  # R11
    caseworkers = org.departments["helse"].caseworkers
    away = org.staff_member(caseworkers[0])
    await mailroom.set_away(away.email)
    async with event_log(settings) as log, router.running():
        received = []
        for number in range(6):
            event = await mailroom.receive(
                HELSE, mail(f"Sak {number}", to=HELSE, message_id=f"a{number}@x.org")
            )
            await mailroom.classify(event, MailClass.ARKIVVERDIG)
            received.append(event)
        routed = await log.wait_for(lambda _s, p: p["type"] == "routed", count=6)
    assignees = [p["assignee"]["id"] for _s, p in routed]
    assert away.id not in assignees
    # The others share the load evenly, in turn (capacity 1 each).
    assert sorted(assignees) == sorted(caseworkers[1:] * 3)


async def test_everyone_away_leaves_the_case_unassigned_and_alerts_the_supervisors(
    router: ServiceApp, mailroom: Mailroom, settings: Settings, org: Organisation
) -> None:  # R10, R11
    for staff_id in org.departments["helse"].caseworkers:
        await mailroom.set_away(org.staff_member(staff_id).email)
    async with event_log(settings) as log, router.running():
        event = await mailroom.receive(HELSE, mail("Hjelp", to=HELSE, message_id="u@x.org"))
        await mailroom.classify(event, MailClass.OFFISIELL)
        ((_, routed),) = await log.wait_for_case(event.case_id, "routed")
        ((subject, _alert),) = await log.wait_for_case(event.case_id, "alert")
    assert (routed["policy"], routed["assignee"], routed["status"]) == ("unassigned", None, "ny")
    assert subject == "sakspost.alert.unassigned.helse"


async def test_classified_before_received_is_routed_once_the_case_opens(
    router: ServiceApp, mailroom: Mailroom, settings: Settings
) -> None:  # R11 (order of consumers)
    raw = mail("Tidleg", to=HELSE, message_id="early@x.org")
    graph_id = await mailroom.deliver(HELSE, raw)
    received = build_received(mailroom.org, HELSE, raw, graph_id, datetime.now(UTC), keys=TEST_KEYS)
    async with event_log(settings) as log, router.running():
        await mailroom.classify(received, MailClass.OFFISIELL)
        # The router retries the verdict as transient until the case exists.
        await log.wait_for_case(received.case_id, "classified")
        await mailroom.publish(received)
        ((_, routed),) = await log.wait_for_case(received.case_id, "routed")
        await mailroom.written(received)
    assert routed["assignee"] is not None
    assert not log.matching(lambda _s, p: p["type"] == "alert")


async def test_the_watch_records_who_is_away_for_the_overview_when_it_changes(
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:  # R10, R11: the overview's load table shows who is away
    holder = RouterHolder()
    away = org.staff_member(org.departments["helse"].caseworkers[0])
    await mailroom.set_away(away.email)
    kv = await (await connect_as("overview")).jetstream().key_value(CASES_BUCKET)
    async with build(router_env, org, clock=clock, router_settings=QUIET, holder=holder).running():
        await holder.ready().watch.tick()
        first = await kv.get(away_key("helse"))
        assert Presence.model_validate_json(first.value or b"").away == [away.id]
        # Nobody else is away anywhere else, and a second look that sees the same writes nothing.
        assert Presence.model_validate_json((await kv.get(away_key("it"))).value or b"").away == []
        await holder.ready().watch.tick()
        assert (await kv.get(away_key("helse"))).revision == first.revision
