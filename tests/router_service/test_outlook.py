"""Humans in Outlook (R12, R13, R17): the flag completed, the `Tildelt:` or class category changed,
a mail moved to Deleted Items. Ingest turns Graph's notifications into `changed` and `deleted`
events; here the test makes the change through msgraph-sdk and publishes the event itself."""

from __future__ import annotations

from typing import Any

from msgraph.generated.models.followup_flag import FollowupFlag
from msgraph.generated.models.followup_flag_status import FollowupFlagStatus
from msgraph.generated.models.message import Message

from schemas.events import MailChanged, MailDeleted, MailReceived
from schemas.identity import make_event_id
from schemas.vocab import DeletionKind, MailClass
from services.common.app import ServiceApp
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from tests.support.events import EventLog, event_log

from .support import Mailroom, mail

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
    async with event_log(settings.nats_url) as log, router.running():
        received, _routed, _key = await _routed_case(mailroom, log, 1)
        done = Message(flag=FollowupFlag(flag_status=FollowupFlagStatus.Complete))
        await _human_changes(mailroom, received, done)
        ((subject, completed),) = await log.wait_for_case(received.case_id, "completed")
    assert subject == "sakspost.mail.completed.bygg"
    assert completed["via"] == "outlook"


async def test_changing_the_tildelt_category_reassigns_and_our_echo_changes_nothing(
    router: ServiceApp, mailroom: Mailroom, settings: Settings, org: Organisation
) -> None:  # R11, R17
    async with event_log(settings.nats_url) as log, router.running():
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
    async with event_log(settings.nats_url) as log, router.running():
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
    async with event_log(settings.nats_url) as log, router.running():
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
