"""The public event contract: one pydantic model per event, alert and notice.

Integrators depend on these field names. Change them only by adding a new schema version; adding an
optional field is compatible, so readers ignore fields they do not know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from schemas import subjects
from schemas.identity import make_event_id
from schemas.vocab import (
    SCHEMA_VERSION,
    AlertKind,
    AssignmentPolicy,
    Channel,
    CompletedVia,
    DeletionKind,
    DocumentRole,
    MailClass,
    MailEvent,
    NoticeKind,
    QuarantineReason,
    SensitiveKind,
    Severity,
    Status,
)
from services.common.idnumbers import mask_identity_numbers


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
Department = Annotated[str, AfterValidator(subjects.check_token)]

# What replaces an identity number in a mail's text that enters an event.
ID_NUMBER_MASK = "******"


def _mask_identity_numbers(text: str) -> str:
    return mask_identity_numbers(text, ID_NUMBER_MASK)


# Mail text (a subject) in an event: identity numbers masked when the model is made and again when
# it is written, so no builder, copy or replayed old event can put one into the stream, which is
# never deleted. The full text stays in the MIME store.
MaskedText = Annotated[
    str, AfterValidator(_mask_identity_numbers), PlainSerializer(_mask_identity_numbers)
]
SUBJECT_DESCRIPTION = (
    "The mail's subject, identity numbers masked as ******; the full subject is in its MIME"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class ContractModel(BaseModel):
    # Readers ignore unknown fields so that a compatible addition does not break them.
    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=False)


class Party(ContractModel):
    """A person or system: a sender, an assignee, a supervisor, a recipient of a notice."""

    address: str = Field(description="E-mail address")
    name: str | None = Field(default=None, description="Display name")
    id: str | None = Field(default=None, description="Staff id from the organisation config")


class Event(ContractModel):
    """Fields every event carries."""

    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(description="Deterministic for the same fact; also the Nats-Msg-Id")
    case_id: str | None = Field(description="The case (one mail in one mailbox)")
    occurred_at: UtcDateTime = Field(description="When the fact happened (UTC)")
    department: Department = Field(description="A department key of the organisation config")

    def nats_subject(self) -> str:
        """The subject this event is published on."""
        raise NotImplementedError(f"{type(self).__name__} has no subject")

    def to_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class MailEventBase(Event):
    event: ClassVar[MailEvent]
    case_id: str = Field(
        description="One mail in one mailbox: a hash of the mailbox and the Message-ID; a "
        "different mail arriving later with a Message-ID already taken gets a hash of the "
        "mailbox, the Message-ID and its Graph immutable id (schemas/identity.py)"
    )

    def nats_subject(self) -> str:
        return subjects.mail_subject(self.event, self.department)


class MailReceived(MailEventBase):
    """A mail reached a watched mailbox (R4, R13). Its MIME is in the Object Store by SHA-256."""

    event: ClassVar[MailEvent] = MailEvent.RECEIVED
    type: Literal["received"] = "received"
    mailbox: str = Field(description="The official address whose mailbox received the mail")
    internet_message_id: str | None = Field(description="Message-ID header, without brackets")
    graph_message_id: str = Field(description="Graph immutable id of the message")
    conversation_id: str | None = None
    sender: Party | None = Field(description="From; null when the mail has no usable From")
    to: list[Party] = Field(default_factory=list)
    cc: list[Party] = Field(default_factory=list)
    subject: MaskedText = Field(default="", description=SUBJECT_DESCRIPTION)
    received_at: UtcDateTime
    mime_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    mime_size: int = Field(ge=0)
    # Defect codes can quote what the sender wrote (an unknown charset's name).
    parse_defects: list[MaskedText] = Field(default_factory=list)
    change_key: str | None = Field(
        default=None,
        description="The message's version (Graph changeKey) when ingest read it; the router's "
        "first write-back to Outlook is conditional on it",
    )
    categories: list[str] = Field(
        default_factory=list, description="Its Outlook categories when ingest read it"
    )
    flag_status: Literal["notFlagged", "flagged", "complete"] | None = Field(
        default=None, description="Its Outlook flag when ingest read it"
    )
    quarantine: QuarantineReason | None = Field(
        default=None,
        description="Set when the mail was over a limit of what one mail may cost to read, or "
        "unreadable: the fields hold what could be read cheaply (its headers), and the case is "
        "treated as possibly sensitive and goes to a person (null: read in full)",
    )

    @classmethod
    def build(cls, **fields: Any) -> MailReceived:
        case_id = fields["case_id"]
        fields.setdefault("event_id", make_event_id("received", case_id))
        fields.setdefault("occurred_at", fields["received_at"])
        return cls(**fields)


class MailClassified(MailEventBase):
    """The class, sensitivity and topics of a mail (R9), by the classifier or by a human (R17)."""

    event: ClassVar[MailEvent] = MailEvent.CLASSIFIED
    type: Literal["classified"] = "classified"
    mail_class: MailClass
    confidence: float = Field(ge=0.0, le=1.0)
    sensitive: list[SensitiveKind] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list, description="Rule ids a supervisor can read")
    suggested_department: str | None = None
    rules_version: str | None = Field(default=None, description="Version of the rule file used")
    model_version: str | None = Field(
        default=None,
        description="Version of the classifier's statistical model used (null: rules alone)",
    )
    by: Party | None = Field(default=None, description="The human who corrected the class, if any")


class MailRouted(MailEventBase):
    """The department and assignee of a case (R8, R10, R11)."""

    event: ClassVar[MailEvent] = MailEvent.ROUTED
    type: Literal["routed"] = "routed"
    mail_class: MailClass
    assignee: Party | None
    policy: AssignmentPolicy
    supervisors: list[Party] = Field(default_factory=list)
    due_at: UtcDateTime | None = None
    status: Status = Status.TILDELT
    previous_department: str | None = None
    # What downstream stages (archive, notices) need, so that they never read the case record.
    mailbox: str | None = Field(default=None, description="The shared mailbox holding the mail")
    graph_message_id: str | None = None
    mime_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    subject: MaskedText = Field(default="", description=SUBJECT_DESCRIPTION)
    sender: Party | None = None
    topics: list[str] = Field(default_factory=list)
    sensitive: list[SensitiveKind] = Field(default_factory=list)
    conversation_id: str | None = None


class ArchivedDocument(ContractModel):
    role: DocumentRole
    filename: str
    media_type: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class MailArchived(MailEventBase):
    """An arkivverdig mail became a journalpost (R9a)."""

    event: ClassVar[MailEvent] = MailEvent.ARCHIVED
    type: Literal["archived"] = "archived"
    archive_system: str
    journalpost_id: str
    registry_number: str
    archive_case_id: str | None = None
    documents: list[ArchivedDocument]


class MailCompleted(MailEventBase):
    """A case turned Ferdig (R12)."""

    event: ClassVar[MailEvent] = MailEvent.COMPLETED
    type: Literal["completed"] = "completed"
    by: Party
    via: CompletedVia


class MailChanged(MailEventBase):
    """A human changed a message's flag or categories in Outlook (the router says what it means)."""

    event: ClassVar[MailEvent] = MailEvent.CHANGED
    type: Literal["changed"] = "changed"
    mailbox: str
    graph_message_id: str
    change_key: str | None = None
    categories: list[str] = Field(default_factory=list)
    flag_status: Literal["notFlagged", "flagged", "complete"] | None = None


class MailDeleted(MailEventBase):
    """A mail left a shared mailbox (R13): the copy in Sakspost stays."""

    event: ClassVar[MailEvent] = MailEvent.DELETED
    type: Literal["deleted"] = "deleted"
    mailbox: str
    graph_message_id: str
    how: DeletionKind


class MailSent(MailEventBase):
    """A mail sent from a shared mailbox (its Sent Items), not written by Sakspost (R14, R2, R3).

    `case_id` is the sent mail's own id (its mailbox and Message-ID, as for received mail): the
    id an outgoing journalpost is filed under. Its MIME is in the Object Store by SHA-256. The
    event names no recipient and no subject: what it holds is judged from the MIME.
    """

    event: ClassVar[MailEvent] = MailEvent.SENT
    type: Literal["sent"] = "sent"
    mailbox: str = Field(description="The official address whose Sent Items hold the mail")
    internet_message_id: str | None = Field(description="Message-ID header, without brackets")
    graph_message_id: str = Field(description="Graph immutable id of the message")
    conversation_id: str | None = None
    in_reply_to: str | None = Field(default=None, description="In-Reply-To, without brackets")
    sent_at: UtcDateTime
    mime_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    mime_size: int = Field(ge=0)


class Alert(Event):
    """Something a department's supervisors must know (R10)."""

    type: Literal["alert"] = "alert"
    kind: AlertKind
    severity: Severity = Severity.WARNING
    summary: MaskedText = Field(description="Short text without personal data")
    reason: MaskedText | None = None
    case_ids: list[str] = Field(default_factory=list, description="Grouped alerts list their cases")

    def nats_subject(self) -> str:
        return subjects.alert_subject(self.kind, self.department)

    @classmethod
    def about_case(
        cls,
        kind: AlertKind,
        case_id: str,
        department: str,
        occurred_at: datetime,
        summary: str,
        reason: str,
        case_ids: list[str] | None = None,
    ) -> Alert:
        """The one alert of `kind` about a case (its id is the same for every repeat)."""
        return cls(
            event_id=make_event_id("alert", case_id, kind.value),
            case_id=case_id,
            occurred_at=occurred_at,
            department=department,
            kind=kind,
            summary=summary,
            reason=reason,
            case_ids=case_ids or [case_id],
        )


class NoticeSent(Event):
    """The audit of one delivered notice (R11): who was told what, when and how."""

    type: Literal["notice_sent"] = "notice_sent"
    kind: NoticeKind
    recipient: Party
    channel: Channel
    about: MaskedText = Field(
        description="What the notice was about (e.g. the alert kind), no content"
    )
    language: Literal["nn", "nb", "en"] = "nn"

    def nats_subject(self) -> str:
        return subjects.notice_subject(self.department)


class CaseViewed(Event):
    """The audit of one opening of a sensitive case's page in the overview: who, when (issue 19)."""

    type: Literal["case_viewed"] = "case_viewed"
    case_id: str = Field(description="The case whose page was opened")
    viewer: str = Field(description="Staff id (or operator id) of who opened it, verified")

    def nats_subject(self) -> str:
        return subjects.audit_subject("case_viewed", self.department)


MAIL_EVENT_MODELS: dict[MailEvent, type[MailEventBase]] = {
    MailEvent.RECEIVED: MailReceived,
    MailEvent.CLASSIFIED: MailClassified,
    MailEvent.ROUTED: MailRouted,
    MailEvent.ARCHIVED: MailArchived,
    MailEvent.COMPLETED: MailCompleted,
    MailEvent.CHANGED: MailChanged,
    MailEvent.DELETED: MailDeleted,
    MailEvent.SENT: MailSent,
}

ALL_MODELS: dict[str, type[ContractModel]] = {
    **{event.value: model for event, model in MAIL_EVENT_MODELS.items()},
    "alert": Alert,
    "notice_sent": NoticeSent,
    "case_viewed": CaseViewed,
    "party": Party,
}

__all__ = [
    "ALL_MODELS",
    "MAIL_EVENT_MODELS",
    "Alert",
    "ArchivedDocument",
    "CaseViewed",
    "Event",
    "MailArchived",
    "MailChanged",
    "MailClassified",
    "MailCompleted",
    "MailDeleted",
    "MailEventBase",
    "MailReceived",
    "MailRouted",
    "MailSent",
    "NoticeSent",
    "Party",
    "Status",
    "utc_now",
]
