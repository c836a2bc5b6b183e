"""Humans in Outlook (R12, R13, R17): the flag completed, the `Tildelt:` or class category changed,
a mail moved to Deleted Items. Ingest turns Graph's notifications into `changed` and `deleted`
events; here the test makes the change through msgraph-sdk and publishes the event itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from msgraph.generated.models.followup_flag import FollowupFlag
from msgraph.generated.models.followup_flag_status import FollowupFlagStatus
from msgraph.generated.models.message import Message

from schemas.events import MailChanged, MailDeleted, MailReceived
from schemas.identity import make_event_id
from schemas.vocab import DeletionKind, MailClass
from services.common.app import ServiceApp
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.router.app import Router, RouterHolder, build
from tests.support.events import EventLog, event_log

from .conftest import QUIET
from .support import WAIT_SECONDS, FakeClock, Mailroom, mail

BYGG = "bygg@ha.kommune.no"


async def _routed_case(
    mailroom: Mailroom, log: EventLog, number: int
) -> tuple[MailReceived, dict[str, Any], str]:
    received = await mailroom.receive(
        BYGG, mail(f"Spørsmål {number}", to=BYGG, message_id=f"h{number}@x.org")
    )
    await mailroom.classify(received, MailClass.OFFISIELL)
    ((_, routed),) = await log.wait_for_case(received.case_id, "routed")
    return received, routed, await mailroom.written(received)


async def _human_changes(mailroom: Mailroom, received: MailReceived, patch: Message) -> MailChanged:
    """A human's change in Outlook, and the `changed` event ingest makes of it."""
    item = mailroom.graph.users.by_user_id(BYGG).messages.by_message_id(received.graph_message_id)
    message = await item.patch(patch)
    assert message is not None
    event = MailChanged(
        event_id=make_event_id("changed", received.case_id, message.change_key),
        case_id=received.case_id,
        occurred_at=received.received_at,
        department=received.department,
        mailbox=BYGG,
        graph_message_id=received.graph_message_id,
        change_key=message.change_key,
        categories=list(message.categories or []),
        flag_status=message.flag.flag_status.value if message.flag else None,
    )
    await mailroom.publish(event)
    return event


async def test_completing_the_flag_in_outlook_makes_the_case_ferdig(
    router: ServiceApp, mailroom: Mailroom, settings: Settings
) -> None:  # R12
    async with event_log(settings) as log, router.running():
        received, _routed, _key = await _routed_case(mailroom, log, 1)
        done = Message(flag=FollowupFlag(flag_status=FollowupFlagStatus.Complete))
        await _human_changes(mailroom, received, done)
        ((subject, completed),) = await log.wait_for_case(received.case_id, "completed")
    assert subject == "sakspost.mail.completed.bygg"
    assert completed["via"] == "outlook"


async def test_changing_the_tildelt_category_reassigns_and_our_echo_changes_nothing(
    router: ServiceApp, mailroom: Mailroom, settings: Settings, org: Organisation
) -> None:  # R11, R17
    async with event_log(settings) as log, router.running():
        received, routed, change_key = await _routed_case(mailroom, log, 2)
        # Our own write coming back (same change key) is no human's intent.
        echo = MailChanged(
            event_id=make_event_id("changed", received.case_id, change_key),
            case_id=received.case_id,
            occurred_at=received.received_at,
            department="bygg",
            mailbox=BYGG,
            graph_message_id=received.graph_message_id,
            change_key=change_key,
            categories=await mailroom.categories(received),
            flag_status="flagged",
        )
        await mailroom.publish(echo)
        others = [s for s in org.departments["bygg"].caseworkers if s != routed["assignee"]["id"]]
        new = org.staff_member(others[0])
        categories = [c for c in await mailroom.categories(received) if not c.startswith("Tildelt")]
        await _human_changes(
            mailroom, received, Message(categories=[*categories, f"Tildelt: {new.name}"])
        )
        ((_, again),) = await log.wait_for(
            lambda _s, p: (
                p["case_id"] == received.case_id
                and p["type"] == "routed"
                and p["event_id"] != routed["event_id"]
            )
        )
        await mailroom.written(received, previous=change_key)
        shown = await mailroom.categories(received)
    assert (again["policy"], again["assignee"]["id"]) == ("outlook", new.id)
    assert [c for c in shown if c.startswith("Tildelt")] == [f"Tildelt: {new.name}"]
    routed_events = log.matching(
        lambda _s, p: p["case_id"] == received.case_id and p["type"] == "routed"
    )
    assert len(routed_events) == 2  # the echo made no third


async def test_changing_the_class_category_reclassifies_and_alerts(
    router: ServiceApp, mailroom: Mailroom, settings: Settings
) -> None:  # R17, R10
    async with event_log(settings) as log, router.running():
        received, _routed, _key = await _routed_case(mailroom, log, 3)
        categories = [c for c in await mailroom.categories(received) if c != "Offisiell"]
        await _human_changes(mailroom, received, Message(categories=[*categories, "Arkivverdig"]))
        corrected = await log.wait_for(
            lambda _s, p: (
                p["case_id"] == received.case_id
                and p["type"] == "classified"
                and p.get("by") is not None
            )
        )
        ((subject, _alert),) = await log.wait_for_case(received.case_id, "alert")
    assert corrected[0][1]["mail_class"] == "arkivverdig"
    assert subject == "sakspost.alert.class_changed.bygg"


async def test_a_mail_moved_to_deleted_items_alerts_the_supervisors(
    router: ServiceApp, mailroom: Mailroom, settings: Settings
) -> None:  # R13, R10
    async with event_log(settings) as log, router.running():
        received, routed, _key = await _routed_case(mailroom, log, 4)
        item = mailroom.graph.users.by_user_id(BYGG).messages.by_message_id(
            received.graph_message_id
        )
        await item.delete()  # Graph's DELETE moves the mail to Deleted Items
        await mailroom.publish(
            MailDeleted(
                event_id=make_event_id("deleted", received.case_id, "deleteditems"),
                case_id=received.case_id,
                occurred_at=received.received_at,
                department="bygg",
                mailbox=BYGG,
                graph_message_id=received.graph_message_id,
                how=DeletionKind.MOVED_TO_DELETED_ITEMS,
            )
        )
        ((subject, alert),) = await log.wait_for_case(received.case_id, "alert")
    assert subject == "sakspost.alert.deleted.bygg"
    assert alert["case_ids"] == [received.case_id]
    assert routed["supervisors"][0]["id"] == "ingrid.grodem"  # who hears of alerts on bygg


class HeldWrites:
    """The router's Outlook write-back with two handles for a test: the first PATCH waits at a gate
    until the test opens it, and every finished `write_back` is reported, so the test can make a
    human's change land between the router's plan and its PATCH without sleeping."""

    def __init__(self, router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
        self.planned = asyncio.Event()
        self.gate = asyncio.Event()
        self.finished: asyncio.Queue[BaseException | None] = asyncio.Queue()
        outlook = router.flow.outlook
        writer = outlook._writer
        write, write_back = writer.write, outlook.write_back

        async def held_write(*args: Any, **kwargs: Any) -> str | None:
            if not self.planned.is_set():
                self.planned.set()
                await self.gate.wait()
            return await write(*args, **kwargs)

        async def reported_write_back(*args: Any, **kwargs: Any) -> None:
            try:
                await write_back(*args, **kwargs)
            except BaseException as error:
                self.finished.put_nowait(error)
                raise
            self.finished.put_nowait(None)

        monkeypatch.setattr(writer, "write", held_write)
        monkeypatch.setattr(outlook, "write_back", reported_write_back)

    async def write_back_done(self) -> None:
        error = await asyncio.wait_for(self.finished.get(), WAIT_SECONDS)
        assert error is None, f"the write-back failed: {error!r}"


def _changed_event(received: MailReceived, message: Message) -> MailChanged:
    return MailChanged(
        event_id=make_event_id("changed", received.case_id, message.change_key),
        case_id=received.case_id,
        occurred_at=received.received_at,
        department=received.department,
        mailbox=BYGG,
        graph_message_id=received.graph_message_id,
        change_key=message.change_key,
        categories=list(message.categories or []),
        flag_status=message.flag.flag_status.value if message.flag else None,
    )


@pytest.mark.parametrize("trigger", ["a human adds a category", "a late changed event"])
async def test_a_write_back_planned_before_a_humans_change_never_overwrites_it(
    trigger: str,
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # R11, R17
    """The issue's flake, forced: the router plans a write-back from what it knows, a caseworker
    sets `Tildelt:` in Outlook, then the router's PATCH arrives. It must not bring back the old
    assignee, nor drop a category a person added."""
    holder = RouterHolder()
    router = build(router_env, org, clock=clock, router_settings=QUIET, holder=holder)
    async with event_log(settings) as log, router.running():
        number = 5 if trigger == "a human adds a category" else 6
        received = await mailroom.receive(
            BYGG, mail(f"Spørsmål {number}", to=BYGG, message_id=f"h{number}@x.org")
        )
        item = mailroom.graph.users.by_user_id(BYGG).messages.by_message_id(
            received.graph_message_id
        )
        as_received = await item.get()
        assert as_received is not None
        await mailroom.classify(received, MailClass.OFFISIELL)
        ((_, routed),) = await log.wait_for_case(received.case_id, "routed")
        await mailroom.written(received)
        held = HeldWrites(holder.ready(), monkeypatch)

        # 1. Something makes the router write the message again; its PATCH waits at the gate.
        if trigger == "a human adds a category":
            shown = await mailroom.categories(received)
            await _human_changes(mailroom, received, Message(categories=[*shown, "Viktig"]))
        else:
            # A `changed` delivered late: the message as it was before our first write.
            await mailroom.publish(_changed_event(received, as_received))
        await asyncio.wait_for(held.planned.wait(), WAIT_SECONDS)

        # 2. Meanwhile a caseworker gives the case to someone else in Outlook.
        others = [s for s in org.departments["bygg"].caseworkers if s != routed["assignee"]["id"]]
        new = org.staff_member(others[0])
        kept = [c for c in await mailroom.categories(received) if not c.startswith("Tildelt")]
        human = await item.patch(Message(categories=[*kept, f"Tildelt: {new.name}"]))
        assert human is not None

        # 3. The router's PATCH goes on: the human's change must still be what Outlook shows.
        held.gate.set()
        await held.write_back_done()
        shown_after_ours = await mailroom.categories(received)
        assert [c for c in shown_after_ours if c.startswith("Tildelt")] == [f"Tildelt: {new.name}"]

        # 4. Ingest's `changed` for the human's change reaches the router: reassigned, shown.
        await mailroom.publish(_changed_event(received, human))
        ((_, again),) = await log.wait_for(
            lambda _s, p: (
                p["case_id"] == received.case_id
                and p["type"] == "routed"
                and p["event_id"] != routed["event_id"]
            )
        )
        await held.write_back_done()
        final = await mailroom.categories(received)
    assert (again["policy"], again["assignee"]["id"]) == ("outlook", new.id)
    assert [c for c in final if c.startswith("Tildelt")] == [f"Tildelt: {new.name}"]
    assert "Offisiell" in final
    if trigger == "a human adds a category":
        assert "Viktig" in final  # categories people add are kept
