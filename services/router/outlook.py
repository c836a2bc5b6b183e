"""What the router shows in Outlook, and what a human meant by changing it (R11, R12, R17).

Write-back: categories `Tildelt: <name>`, the class in Norwegian, `Sensitiv` when the classifier
found sensitive content (R2, R3), `WebSak: <registry number>` once archived, and the flag: flagged
with the due date while open, complete when Ferdig. Categories that humans added and that are not
ours are kept.

Reading: a `MailChanged` (categories and flag as Outlook shows them now) is compared with what the
router last wrote and with the case itself. Our own write coming back (same change key, or nothing
new) means nothing, so it causes no loop and no extra read. What a reading changes in the case is
in `transitions.py`; the I/O of a write-back is in `outlook_sync.py`. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.events import MailChanged
from schemas.vocab import MailClass
from services.common.categories import category_key, same_categories
from services.common.flags import FlagStatus
from services.common.orgconfig import Organisation
from services.router.record import MAX_WRITTEN_CHANGE_KEYS, CaseRecord, WriteBack

ASSIGNED_PREFIX = "Tildelt: "
REGISTRY_PREFIX = "WebSak: "
SENSITIVE_CATEGORY = "Sensitiv"
CLASS_CATEGORIES: dict[MailClass, str] = {
    MailClass.ARKIVVERDIG: "Arkivverdig",
    MailClass.OFFISIELL: "Offisiell",
    MailClass.PRIVAT: "Privat",
}
_CLASS_BY_CATEGORY = {
    category_key(name): mail_class for mail_class, name in CLASS_CATEGORIES.items()
}


def _is_assigned_category(category: str) -> bool:
    return category_key(category).startswith(category_key(ASSIGNED_PREFIX.strip()))


def is_ours(category: str) -> bool:
    """Whether the router owns a category (Outlook matches category names ignoring case)."""
    folded = category_key(category)
    return (
        _is_assigned_category(category)
        or folded.startswith(category_key(REGISTRY_PREFIX.strip()))
        or folded == category_key(SENSITIVE_CATEGORY)
        or folded in _CLASS_BY_CATEGORY
    )


@dataclass(frozen=True)
class FlagPlan:
    status: FlagStatus
    start: datetime | None = None
    due: datetime | None = None
    completed: datetime | None = None


@dataclass(frozen=True)
class WriteBackPlan:
    categories: list[str]
    flag: FlagPlan

    def patch_body(self) -> dict[str, Any]:
        """The JSON body of `PATCH /users/{mailbox}/messages/{id}` (a fresh, minimal message).

        Graph requires a start with a due date; times are sent in UTC and Outlook shows them in
        each reader's own zone.
        """
        flag: dict[str, Any] = {"flagStatus": self.flag.status}
        for name, moment in (
            ("startDateTime", self.flag.start),
            ("dueDateTime", self.flag.due),
            ("completedDateTime", self.flag.completed),
        ):
            if moment is not None:
                flag[name] = {
                    "dateTime": moment.astimezone(UTC).replace(tzinfo=None).isoformat(),
                    "timeZone": "UTC",
                }
        return {"categories": list(self.categories), "flag": flag}


def our_categories(record: CaseRecord, org: Organisation) -> list[str]:
    categories: list[str] = []
    if record.assignee is not None:
        categories.append(ASSIGNED_PREFIX + org.staff_member(record.assignee).name)
    if record.mail_class is not None:
        categories.append(CLASS_CATEGORIES[record.mail_class])
    if record.sensitive:
        categories.append(SENSITIVE_CATEGORY)
    if record.registry_number is not None:
        categories.append(REGISTRY_PREFIX + record.registry_number)
    return categories


def _flag(record: CaseRecord) -> FlagPlan:
    if not record.is_open:
        return FlagPlan("complete", completed=record.completed_at)
    if record.due_at is None:
        return FlagPlan("flagged")
    return FlagPlan("flagged", start=min(record.received_at, record.due_at), due=record.due_at)


def plan_writeback(
    record: CaseRecord,
    org: Organisation,
    *,
    shown_categories: Sequence[str] | None,
    shown_flag: FlagStatus | None,
) -> WriteBackPlan | None:
    """What to write to the message, or None when Outlook already shows it.

    `shown_categories` and `shown_flag` are the message's state as the latest `MailChanged` gave
    it, or None when unknown (then the categories last written stand in). A mail not yet classified
    or no longer in the mailbox gets nothing.
    """
    if record.mail_class is None or record.deleted is not None:
        return None
    last = record.writeback
    base = shown_categories if shown_categories is not None else (last.categories if last else [])
    kept = [c for c in base if not is_ours(c)]
    plan = WriteBackPlan(categories=kept + our_categories(record, org), flag=_flag(record))
    written = (
        last is not None
        and same_categories(last.categories, plan.categories)
        and last.flag_status == plan.flag.status
        and last.flag_due == plan.flag.due
    )
    shown = (shown_categories is None or same_categories(shown_categories, plan.categories)) and (
        shown_flag is None or shown_flag == plan.flag.status
    )
    return None if written and shown else plan


def note_written_back(
    record: CaseRecord,
    *,
    categories: list[str],
    flag_status: FlagStatus,
    flag_due: datetime | None,
    change_key: str | None,
    at: datetime,
) -> CaseRecord:
    """Remember what the router wrote to Outlook (and the change key Graph answered with)."""
    written = WriteBack(
        at=at,
        change_key=change_key,
        categories=list(categories),
        flag_status=flag_status,
        flag_due=flag_due,
    )
    keys = record.written_change_keys
    if change_key is not None:
        keys = [*keys, change_key][-MAX_WRITTEN_CHANGE_KEYS:]
    return record.model_copy(update={"writeback": written, "written_change_keys": keys})


# --- reading a human's change --------------------------------------------------------------------


@dataclass(frozen=True)
class Complete:
    """The flag was completed in Outlook: the case is Ferdig via outlook (R12)."""


@dataclass(frozen=True)
class Reassign:
    staff_id: str


@dataclass(frozen=True)
class Reclassify:
    mail_class: MailClass


Intent = Complete | Reassign | Reclassify


@dataclass(frozen=True)
class Reading:
    intents: tuple[Intent, ...]
    ignored: tuple[str, ...] = ()
    """Changes that look meant but cannot be followed, in words for the log (no personal data)."""


def resolve_staff(org: Organisation, text: str) -> str | None:
    """The staff id a human wrote in a category: a name, a staff id or an address (any case)."""
    wanted = text.strip().casefold()
    matches = {
        member.id
        for member in org.staff
        if wanted in (member.name.casefold(), member.id.casefold(), member.email)
    }
    return matches.pop() if len(matches) == 1 else None


def read_change(record: CaseRecord, changed: MailChanged, org: Organisation) -> Reading:
    return read_version(
        record, org, changed.change_key, list(changed.categories), changed.flag_status
    )


def read_version(
    record: CaseRecord,
    org: Organisation,
    change_key: str | None,
    categories: Sequence[str],
    flag_status: FlagStatus | None,
) -> Reading:
    """What a human meant by a version of the message (its change key, categories and flag)."""
    if change_key is not None and change_key in record.written_change_keys:
        # A version of the message we wrote, perhaps delivered late: never a human's intent.
        return Reading(intents=())
    last = record.writeback
    # Categories that were not on the message when we last wrote it are the human's doing.
    baseline = {category_key(c) for c in (last.categories if last else [])}
    added = [c for c in categories if category_key(c) not in baseline]
    intents: list[Intent] = []
    ignored: list[str] = []

    added_classes = {
        _CLASS_BY_CATEGORY[category_key(c)] for c in added if category_key(c) in _CLASS_BY_CATEGORY
    }
    if len(added_classes) > 1:
        ignored.append("several class categories added at once")
    elif added_classes and record.mail_class is not None:
        (new_class,) = added_classes
        if new_class is not record.mail_class:
            intents.append(Reclassify(new_class))

    added_assignees = [c for c in added if _is_assigned_category(c)]
    if len(added_assignees) > 1:
        ignored.append("several Tildelt categories added at once")
    elif added_assignees:
        written_name = added_assignees[0].split(":", 1)[1]
        staff_id = resolve_staff(org, written_name)
        if staff_id is None:
            ignored.append("the Tildelt category names nobody in the staff list")
        elif not org.may_be_assigned(record.department, staff_id):
            ignored.append(f"{staff_id} is not a member of {record.department} (R8)")
        elif staff_id != record.assignee:
            intents.append(Reassign(staff_id))

    if flag_status == "complete" and record.is_open:
        intents.append(Complete())
    return Reading(intents=tuple(intents), ignored=tuple(ignored))


def holds_unheard_intent(
    record: CaseRecord,
    org: Organisation,
    change_key: str | None,
    categories: Sequence[str],
    flag_status: FlagStatus | None,
) -> bool:
    """Whether a version of the message carries a human's change the record does not reflect yet.

    Such a version must not be written over: a plan made from the record would undo the change
    (R11, R17). Its own `changed` event is on its way; once heard, the record reflects it.
    """
    if change_key is not None and (
        change_key in record.written_change_keys or change_key in record.heard_change_keys
    ):
        return False
    return bool(read_version(record, org, change_key, categories, flag_status).intents)


def is_overtaken(record: CaseRecord, changed: MailChanged) -> bool:
    """Whether a newer read of the message was heard already (two replicas' events crossed).

    Each `changed` carries the whole message as read, so the newer one said all this one could;
    following this one would bring back what a person has since changed.
    """
    return record.heard_read_at is not None and changed.occurred_at < record.heard_read_at
