"""A notice: one message to one person about one thing, before any channel shapes it.

Its id is deterministic from (case, kind, recipient, and what tells apart notices of the same kind),
so that a redelivered or replayed event yields the same id and the ledger can refuse a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events import Party
from schemas.identity import make_event_id
from schemas.vocab import NoticeKind
from services.common.language import Language
from services.common.orgconfig import StaffMember
from services.notifier.config import Route


@dataclass(frozen=True)
class Recipient:
    staff_id: str
    name: str
    address: str
    language: Language

    @classmethod
    def of(cls, member: StaffMember) -> Recipient:
        return cls(member.id, member.name, member.email, member.language)

    def party(self) -> Party:
        return Party(address=self.address, name=self.name, id=self.staff_id)


@dataclass(frozen=True)
class Message:
    """What a notice says, channel-neutral: each channel lays it out its own way."""

    title: str
    lines: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    warning: str | None = None
    link: str | None = None
    link_label: str | None = None


@dataclass(frozen=True)
class Notice:
    notice_id: str
    kind: NoticeKind
    department: str
    case_id: str | None
    about: str
    recipient: Recipient
    message: Message
    route: Route
    # To operations' own channel (their Teams or webhook URL), not the department's.
    to_operations: bool = False


def notice_id(kind: NoticeKind, case_id: str | None, recipient: Recipient, *facts: str) -> str:
    """One id per (case, kind, recipient, facts): the key of the never-twice ledger."""
    return make_event_id("notice", case_id or "", kind.value, recipient.staff_id, *facts)
