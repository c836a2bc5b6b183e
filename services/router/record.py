"""The case record, as the router stores it in KV (R8, R10–R13, R17): data only.

The router is its only writer; `transitions.py` holds every change a fact makes to it, and
`outlook.py` what a write-back to Outlook notes in it. History is append-only (R13).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Party, UtcDateTime
from schemas.vocab import (
    AlertKind,
    AssignmentPolicy,
    CompletedVia,
    DeletionKind,
    MailClass,
    SensitiveKind,
    Status,
)
from services.common.flags import FlagStatus

# Enough to recognise every redelivery JetStream can still make of a case's facts; older facts are
# also caught by the state checks (a Ferdig case is not completed twice).
MAX_APPLIED_EVENT_IDS = 200
# Our recent writes to Outlook; an echo of any of them, however late, is not a human's change.
# The same number of versions heard from humans is kept.
MAX_WRITTEN_CHANGE_KEYS = 20


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HistoryEntry(_Record):
    at: UtcDateTime
    who: str = Field(description="Staff id, or the system that acted (sakspost, outlook, websak)")
    what: str = Field(description="What happened, one word: received, routed, completed, …")
    why: str = Field(default="", description="Why, without personal data")
    event_id: str | None = Field(default=None, description="The fact that caused it")


class WriteBack(_Record):
    """What the router last wrote to the message in Outlook, to recognise its own echo."""

    at: UtcDateTime
    change_key: str | None
    categories: list[str]
    flag_status: FlagStatus
    flag_due: UtcDateTime | None = None


class OutlookVersion(_Record):
    """A version of the message in Outlook as ingest read it."""

    change_key: str
    categories: list[str] = Field(default_factory=list)
    flag_status: FlagStatus | None = None


class CaseRecord(_Record):
    case_id: str
    mailbox: str
    mailbox_department: str = Field(description="The department of the mailbox it arrived in")
    department: str = Field(description="The department that owns it; its supervisors hear of it")
    graph_message_id: str
    internet_message_id: str | None = None
    conversation_id: str | None = None
    received_at: UtcDateTime
    mime_sha256: str
    # Kept so that `routed` can carry them and downstream never reads the record (privacy: the
    # router never logs them).
    subject: str = ""
    sender: Party | None = None

    mail_class: MailClass | None = None
    confidence: float | None = None
    # The classifier's rule ids (`model.<version>` among them) behind the class, for the
    # overview's "why"; a person's correction replaces them with their own.
    class_reasons: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    sensitive: list[SensitiveKind] = Field(default_factory=list)

    status: Status = Status.NY
    assignee: str | None = Field(default=None, description="Staff id in 'Tildelt til' (R11)")
    policy: AssignmentPolicy | None = None
    supervisors: list[str] = Field(default_factory=list)
    due_at: UtcDateTime | None = None
    completed_via: CompletedVia | None = None
    completed_at: UtcDateTime | None = None

    journalpost_id: str | None = None
    registry_number: str | None = None
    deleted: DeletionKind | None = Field(default=None, description="Left the mailbox (R13)")

    received_version: OutlookVersion | None = Field(
        default=None, description="The message as it arrived; the first write-back is planned on it"
    )
    writeback: WriteBack | None = None
    written_change_keys: list[str] = Field(
        default_factory=list, description="Change keys Graph gave our recent write-backs"
    )
    heard_change_keys: list[str] = Field(
        default_factory=list,
        description="Change keys of versions of the message a `changed` event told the router of",
    )
    heard_read_at: UtcDateTime | None = Field(
        default=None,
        description="When ingest read the newest version of the message heard (its `changed`)",
    )
    alerts_sent: list[AlertKind] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    applied_event_ids: list[str] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status is not Status.FERDIG
