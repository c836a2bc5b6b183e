"""Write-back to Outlook and hearing humans through it (R11, R12, R17)."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.events import MailChanged, MailCompleted, MailRouted
from schemas.vocab import AssignmentPolicy, CompletedVia, MailClass, SensitiveKind, Status
from services.common.flags import FlagStatus
from services.common.orgconfig import Organisation
from services.router.context import RouterContext
from services.router.outlook import (
    Complete,
    Reassign,
    Reclassify,
    holds_unheard_intent,
    is_ours,
    note_written_back,
    plan_writeback,
    read_change,
)
from services.router.record import CaseRecord
from services.router.transitions import Transition, transition

from .builders import classified, oslo, received, route

AT = oslo(2026, 3, 10, 9)
LATER = oslo(2026, 3, 11, 9)


def _hear(record: CaseRecord, changed: MailChanged, ctx: RouterContext, at: datetime) -> Transition:
    """What the router's flow does with a `changed` event that needs no routing plan."""
    return transition(record, changed, None, ctx, at)


def _case(ctx: RouterContext) -> CaseRecord:
    mail = received(at=AT)
    verdict = classified(mail, MailClass.OFFISIELL, sensitive=(SensitiveKind.HELSE,))
    return route(ctx, mail, verdict).record


def _written(record: CaseRecord, org: Organisation, shown: list[str]) -> CaseRecord:
    plan = plan_writeback(record, org, shown_categories=shown, shown_flag=None)
    assert plan is not None
    return note_written_back(
        record,
        categories=plan.categories,
        flag_status=plan.flag.status,
        flag_due=plan.flag.due,
        change_key="ck-1",
        at=AT,
    )


def _changed(record: CaseRecord, categories: list[str], flag: FlagStatus, key: str) -> MailChanged:
    return MailChanged(
        event_id=f"changed-{key}",
        case_id=record.case_id,
        occurred_at=LATER,
        department=record.department,
        mailbox=record.mailbox,
        graph_message_id=record.graph_message_id,
        change_key=key,
        categories=categories,
        flag_status=flag,
    )


def test_write_back_shows_assignee_class_sensitivity_and_flag(
    ctx: RouterContext, org: Organisation
) -> None:  # R11, R2
    record = _case(ctx)
    plan = plan_writeback(record, org, shown_categories=["Viktig", "Privat"], shown_flag=None)
    assert plan is not None
    # The human's own category stays; our stale class category is replaced.
    assert plan.categories == ["Viktig", "Tildelt: Kristin Hovland", "Offisiell", "Sensitiv"]
    body = plan.patch_body()
    assert body["flag"] == {
        "flagStatus": "flagged",
        "startDateTime": {"dateTime": "2026-03-10T08:00:00", "timeZone": "UTC"},
        "dueDateTime": {"dateTime": "2026-03-13T15:00:00", "timeZone": "UTC"},
    }


def test_write_back_once_archived_and_ferdig(ctx: RouterContext, org: Organisation) -> None:
    record = _case(ctx).model_copy(
        update={"registry_number": "2026/123-1", "status": Status.FERDIG, "completed_at": LATER}
    )
    plan = plan_writeback(record, org, shown_categories=[], shown_flag=None)
    assert plan is not None
    assert "WebSak: 2026/123-1" in plan.categories
    assert plan.patch_body()["flag"]["flagStatus"] == "complete"


def test_nothing_to_write_when_outlook_shows_it(ctx: RouterContext, org: Organisation) -> None:
    record = _written(_case(ctx), org, ["Viktig"])
    assert record.writeback is not None
    shown = list(reversed(record.writeback.categories))  # order and case do not matter
    assert plan_writeback(record, org, shown_categories=shown, shown_flag="flagged") is None
    assert plan_writeback(record, org, shown_categories=None, shown_flag=None) is None
    # A human removed our category: it comes back (R11: the assignee stays visible).
    removed = [c for c in record.writeback.categories if not c.startswith("Tildelt")]
    assert plan_writeback(record, org, shown_categories=removed, shown_flag="flagged") is not None
    # A new deadline must reach the flag even when the categories did not change.
    moved = record.model_copy(update={"due_at": LATER})
    assert plan_writeback(moved, org, shown_categories=shown, shown_flag="flagged") is not None


def test_our_own_write_coming_back_means_nothing(ctx: RouterContext, org: Organisation) -> None:
    record = _written(_case(ctx), org, [])
    assert record.writeback is not None
    echo = _changed(record, record.writeback.categories, "flagged", "ck-1")
    assert read_change(record, echo, org).intents == ()
    same = _changed(record, record.writeback.categories, "flagged", "ck-2")
    assert read_change(record, same, org).intents == ()
    step = _hear(record, same, ctx, LATER)
    assert step.events == ()
    assert step.record.status is Status.TILDELT


def test_flag_complete_makes_the_case_ferdig(ctx: RouterContext, org: Organisation) -> None:
    record = _written(_case(ctx), org, [])  # R12
    assert record.writeback is not None
    change = _changed(record, record.writeback.categories, "complete", "ck-2")
    assert read_change(record, change, org).intents == (Complete(),)
    step = _hear(record, change, ctx, LATER)
    (event,) = step.events
    assert isinstance(event, MailCompleted)
    assert event.via is CompletedVia.OUTLOOK
    assert step.record.status is Status.FERDIG
    assert _hear(step.record, change, ctx, LATER).events == ()


def test_changed_tildelt_category_reassigns(ctx: RouterContext, org: Organisation) -> None:
    record = _written(_case(ctx), org, [])  # R11, R17
    assert record.writeback is not None
    ours = [c for c in record.writeback.categories if not c.startswith("Tildelt")]
    change = _changed(record, [*ours, "tildelt: gerd skjærpe"], "flagged", "ck-2")
    assert read_change(record, change, org).intents == (Reassign("gerd.skjaerpe"),)
    step = _hear(record, change, ctx, LATER)
    (event,) = step.events
    assert isinstance(event, MailRouted)
    assert event.policy is AssignmentPolicy.OUTLOOK
    assert step.record.assignee == "gerd.skjaerpe"


def test_changed_class_category_corrects_the_class(ctx: RouterContext, org: Organisation) -> None:
    record = _written(_case(ctx), org, [])  # R17
    assert record.writeback is not None
    categories = [*record.writeback.categories, "Arkivverdig"]
    change = _changed(record, categories, "flagged", "ck-2")
    assert read_change(record, change, org).intents == (Reclassify(MailClass.ARKIVVERDIG),)
    step = _hear(record, change, ctx, LATER)
    assert step.record.mail_class is MailClass.ARKIVVERDIG


def test_unfollowable_changes_are_reported_not_applied(
    ctx: RouterContext, org: Organisation
) -> None:  # R8
    record = _written(_case(ctx), org, [])
    assert record.writeback is not None
    stranger = _changed(
        record, [*record.writeback.categories, "Tildelt: Ola Nordmann"], "flagged", "a"
    )
    outsider = _changed(
        record, [*record.writeback.categories, "Tildelt: Berit Aase"], "flagged", "b"
    )
    assert read_change(record, stranger, org).intents == ()
    assert read_change(record, stranger, org).ignored == (
        "the Tildelt category names nobody in the staff list",
    )
    assert read_change(record, outsider, org).ignored == (
        "berit.aase is not a member of bygg (R8)",
    )


def test_echo_racing_our_record_update_means_nothing(ctx: RouterContext, org: Organisation) -> None:
    # The router reassigned and wrote back; the echo arrives before the new write-back is stored.
    record = _written(_case(ctx), org, [])
    moved = record.model_copy(update={"assignee": "gerd.skjaerpe"})
    plan = plan_writeback(moved, org, shown_categories=None, shown_flag=None)
    assert plan is not None
    echo = _changed(moved, plan.categories, "flagged", "ck-9")
    assert read_change(moved, echo, org).intents == ()


def test_is_ours() -> None:
    assert is_ours("Tildelt: Kari")
    assert is_ours("sensitiv")
    assert is_ours("WebSak: 2026/1-1")
    assert not is_ours("Viktig")


def test_a_late_echo_of_an_earlier_write_means_nothing(
    ctx: RouterContext, org: Organisation
) -> None:
    # We wrote v1 (ck-1); a human reassigned; we wrote v2 (ck-2). The echo of v1 arrives last:
    # its "Tildelt: Kristin Hovland" must not be read as reassigning the case back.
    first = _written(_case(ctx), org, [])
    assert first.writeback is not None
    v1_categories = first.writeback.categories
    moved = _hear(
        first,
        _changed(first, [*v1_categories, "Tildelt: Gerd Skjærpe"], "flagged", "human"),
        ctx,
        LATER,
    ).record
    plan = plan_writeback(moved, org, shown_categories=None, shown_flag=None)
    assert plan is not None
    second = note_written_back(
        moved,
        categories=plan.categories,
        flag_status=plan.flag.status,
        flag_due=plan.flag.due,
        change_key="ck-2",
        at=LATER,
    )
    late_echo = _changed(second, v1_categories, "flagged", "ck-1")
    assert read_change(second, late_echo, org).intents == ()
    assert second.written_change_keys == ["ck-1", "ck-2"]


def test_a_version_with_a_change_not_heard_yet_must_not_be_written_over(
    ctx: RouterContext, org: Organisation
) -> None:  # R11, R17
    # A write-back refused with 412 reads the message again. A caseworker's new `Tildelt:` there
    # is a change the record does not reflect yet: planning on it would undo it.
    record = _written(_case(ctx), org, [])
    assert record.writeback is not None
    ours = record.writeback.categories
    moved = [c for c in ours if not c.startswith("Tildelt")] + ["Tildelt: Gerd Skjærpe"]
    assert holds_unheard_intent(record, org, "human", moved, "flagged")
    assert holds_unheard_intent(record, org, "human", ours, "complete")
    # Our own version, a category a person added, or a change that means nothing: plan on it.
    assert not holds_unheard_intent(record, org, "ck-1", ours, "flagged")
    assert not holds_unheard_intent(record, org, "human", [*ours, "Viktig"], "flagged")
    assert not holds_unheard_intent(record, org, "human", ours, "notFlagged")
    # Once heard, the version is known, even if a later command gave the case back to someone.
    heard = _hear(record, _changed(record, moved, "flagged", "human"), ctx, LATER).record
    assert heard.heard_change_keys == ["human"]
    assert heard.assignee == "gerd.skjaerpe"
    back = heard.model_copy(update={"assignee": record.assignee})
    assert not holds_unheard_intent(back, org, "human", moved, "flagged")


def test_a_changed_event_overtaken_by_a_newer_one_changes_nothing(
    ctx: RouterContext, org: Organisation
) -> None:  # R11, R17
    # A caseworker gave the case to Torbjørn, then to Gerd; two replicas' events crossed, so the
    # read showing Gerd is heard first. The older read must not take the case back to Torbjørn.
    record = _written(_case(ctx), org, [])
    assert record.writeback is not None
    kept = [c for c in record.writeback.categories if not c.startswith("Tildelt")]
    older = _changed(record, [*kept, "Tildelt: Torbjørn Fotland"], "flagged", "h1")
    newer = _changed(record, [*kept, "Tildelt: Gerd Skjærpe"], "flagged", "h2")
    newer = newer.model_copy(update={"occurred_at": LATER + timedelta(minutes=1)})
    first = _hear(record, newer, ctx, LATER).record
    assert first.assignee == "gerd.skjaerpe"
    second = _hear(first, older, ctx, LATER)
    assert second.record.assignee == "gerd.skjaerpe"
    assert second.events == ()
    assert second.notes == ("older than a version of the message already heard",)
