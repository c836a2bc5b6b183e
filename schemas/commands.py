"""Request-reply commands on `sakspost.cmd.<verb>`, each answered by the service that owns its
state: the router (cases), websak (archive receipts), ingest (personal mailbox decisions).

Clients (`sakspost cases …`, the overview) send a request model as JSON and get a reply model back.
A reply either carries its result (`ok: true`) or an error with a stable `code` and the `params` a
client needs to say what went wrong in its own language; `message` is the service's English text.

Every request carries `Authorization: Bearer <token>` in its NATS headers (issue 19): an Entra ID
ID token of a person, or an operator's application token, issued to SAKSPOST_AUTH_CLIENT_ID. The
answering service verifies it and records its actor; no body names who acts.

Changing commands carry a `request_id`: the service applies a request once, so a client may safely
repeat it after a timeout.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from schemas.events import SUBJECT_DESCRIPTION, ContractModel, MaskedText, Party, UtcDateTime
from schemas.subjects import command_subject
from schemas.vocab import AssignmentPolicy, CompletedVia, DeletionKind, MailClass, SensitiveKind
from schemas.vocab import Status as CaseStatus


class Verb(StrEnum):
    LIST = "list"
    SHOW = "show"
    ASSIGN = "assign"
    DONE = "done"
    CLASSIFY = "classify"
    CONFIRM_PRIVATE = "confirm_private"
    RETRY_ARCHIVE = "retry_archive"
    ARCHIVE_REPLY = "archive_reply"
    PERSONAL_DECIDE = "personal_decide"

    @property
    def subject(self) -> str:
        return command_subject(self.value)

    @property
    def answerer(self) -> str:
        """The service (and NATS identity) that owns this verb's state and answers it."""
        return _ANSWERERS.get(self, "router")


_ANSWERERS = {
    Verb.RETRY_ARCHIVE: "websak",
    Verb.ARCHIVE_REPLY: "websak",
    Verb.PERSONAL_DECIDE: "ingest",
}


# The header a command's token comes in (`Authorization: Bearer <jwt>`), never the body.
AUTHORIZATION_HEADER = "Authorization"


class ErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    UNKNOWN_CASE = "unknown_case"
    UNKNOWN_STAFF = "unknown_staff"
    UNKNOWN_DEPARTMENT = "unknown_department"
    NOT_A_MEMBER = "not_a_member"
    NOT_CLASSIFIED = "not_classified"
    NOT_REFUSED = "not_refused"
    NOT_ARCHIVABLE = "not_archivable"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    BUSY = "busy"
    INTERNAL = "internal"


class CommandRequest(ContractModel):
    """A request: unlike events, an unknown field is refused (`invalid_request`), so that a body
    still naming its actor (`by`, before issue 19) is not silently taken for a verified one."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class CaseListRequest(CommandRequest):
    department: str | None = None
    status: CaseStatus | None = None
    assignee: str | None = Field(default=None, description="Staff id")
    overdue: bool = False


class CaseShowRequest(CommandRequest):
    case_id: str


class CaseAssignRequest(CommandRequest):
    request_id: str = Field(min_length=8, description="Unique per request; repeats apply once")
    case_id: str
    to: str = Field(description="Staff id of the new assignee")


class CaseDoneRequest(CommandRequest):
    request_id: str = Field(min_length=8)
    case_id: str


class CaseClassifyRequest(CommandRequest):
    request_id: str = Field(min_length=8)
    case_id: str
    mail_class: MailClass


class CaseConfirmPrivateRequest(CommandRequest):
    """A supervisor confirms the classifier's `privat` verdict: the case is closed Ferdig."""

    request_id: str = Field(min_length=8)
    case_id: str


class ArchiveRetryRequest(CommandRequest):
    """File a mail the archive refused again, once the reason is fixed."""

    request_id: str = Field(min_length=8)
    case_id: str


class ArchiveReplyRequest(CommandRequest):
    """File a reply a shared mailbox sent as an outgoing journalpost (R14)."""

    request_id: str = Field(min_length=8)
    case_id: str = Field(description="The sent mail's case id (a `sent` event's, an alert's)")


class PersonalDecideRequest(CommandRequest):
    """The token's person opts their own mailbox in or out (R9c, R15)."""

    request_id: str = Field(min_length=8)
    opted_in: bool


class CommandError(ContractModel):
    code: ErrorCode
    message: str
    params: dict[str, str] = Field(default_factory=dict)


class CaseSummary(ContractModel):
    case_id: str
    department: str
    mailbox: str
    subject: MaskedText = Field(default="", description=SUBJECT_DESCRIPTION)
    mail_class: MailClass | None = None
    status: CaseStatus
    assignee: Party | None = None
    policy: AssignmentPolicy | None = None
    received_at: UtcDateTime
    due_at: UtcDateTime | None = None
    overdue: bool = False
    completed_via: CompletedVia | None = None
    completed_at: UtcDateTime | None = None


class CaseHistoryItem(ContractModel):
    at: UtcDateTime
    who: str
    what: MaskedText
    why: MaskedText = ""


class CaseDetail(CaseSummary):
    topics: list[str] = Field(default_factory=list)
    sensitive: list[SensitiveKind] = Field(default_factory=list)
    supervisors: list[Party] = Field(default_factory=list)
    registry_number: str | None = None
    deleted: DeletionKind | None = None
    history: list[CaseHistoryItem] = Field(default_factory=list)


class CommandReply(ContractModel):
    ok: bool = True
    error: CommandError | None = None
    now: UtcDateTime | None = Field(default=None, description="The router's clock when it answered")


class CaseListReply(CommandReply):
    type: Literal["case_list"] = "case_list"
    cases: list[CaseSummary] = Field(default_factory=list)


class CaseReply(CommandReply):
    """The case after `show`, `assign`, `done` or `classify`."""

    type: Literal["case"] = "case"
    case: CaseDetail | None = None
    changed: bool = False
    outlook_pending: bool = Field(
        default=False, description="Saved, but Outlook is not updated yet (Graph busy); retried"
    )


class ArchiveReply(CommandReply):
    """What websak did with the mail: its receipt's journalpost once archived."""

    type: Literal["archive"] = "archive"
    case_id: str | None = None
    outcome: str | None = None
    journalpost_id: str | None = None
    registry_number: str | None = None
    archive_case_id: str | None = None
    by: str | None = Field(default=None, description="Who the receipt records as its filer")


class PersonalReply(CommandReply):
    """The owner's decision as ingest recorded it."""

    type: Literal["personal"] = "personal"
    staff_id: str | None = None
    opted_in: bool | None = None
    at: UtcDateTime | None = None


__all__ = [
    "ArchiveReply",
    "ArchiveReplyRequest",
    "ArchiveRetryRequest",
    "CaseAssignRequest",
    "CaseClassifyRequest",
    "CaseConfirmPrivateRequest",
    "CaseDetail",
    "CaseDoneRequest",
    "CaseHistoryItem",
    "CaseListReply",
    "CaseListRequest",
    "CaseReply",
    "CaseShowRequest",
    "CaseSummary",
    "CommandError",
    "CommandReply",
    "CommandRequest",
    "ErrorCode",
    "PersonalDecideRequest",
    "PersonalReply",
    "Verb",
]


# Who may run each verb (services/common/rights.py is the rule; this is its text for integrators).
WHO_MAY: dict[Verb, str] = {
    Verb.LIST: "anyone on staff or an operator; the reply holds only the cases the actor may see "
    "(supervised departments whole, elsewhere the actor's own cases)",
    Verb.SHOW: "the department's supervisors (and their deputies), the case's assignee, operators",
    Verb.ASSIGN: "the department's supervisors (and their deputies), the case's assignee (to hand "
    "it over), operators",
    Verb.DONE: "the department's supervisors (and their deputies), the case's assignee, operators",
    Verb.CLASSIFY: "the department's supervisors (and their deputies), the case's assignee, "
    "operators",
    Verb.CONFIRM_PRIVATE: "the department's supervisors (and their deputies), operators",
    Verb.RETRY_ARCHIVE: "the supervisors (and deputies) of the case's department, operators",
    Verb.ARCHIVE_REPLY: "the supervisors (and deputies) of the sending mailbox's department, "
    "operators",
    Verb.PERSONAL_DECIDE: "the mailbox's owner only: the token's person (R16)",
}


def command_description(
    verb: Verb, request: type[ContractModel], reply: type[ContractModel]
) -> str:
    """The AsyncAPI description of a command: its models, its token, who may run it, its errors."""
    return (
        f"Request-reply to {verb.answerer}: send {request.__name__}, get {reply.__name__}. "
        f"The request must carry the NATS header `{AUTHORIZATION_HEADER}: Bearer <token>`: an "
        "Entra ID ID token of a person, or an operator application's token (client "
        "credentials), issued to SAKSPOST_AUTH_CLIENT_ID; the actor recorded is the token's. "
        f"Who may: {WHO_MAY[verb]}. Errors: `unauthenticated` (no, forged, expired or unknown "
        "token), `forbidden` (the actor may not), `invalid_request`, `busy`, `internal`, and "
        "the verb's own (`unknown_case`, …)."
    )


# Each verb's request and reply models (for the generated JSON Schemas and AsyncAPI document).
COMMANDS: dict[Verb, tuple[type[ContractModel], type[ContractModel]]] = {
    Verb.LIST: (CaseListRequest, CaseListReply),
    Verb.SHOW: (CaseShowRequest, CaseReply),
    Verb.ASSIGN: (CaseAssignRequest, CaseReply),
    Verb.DONE: (CaseDoneRequest, CaseReply),
    Verb.CLASSIFY: (CaseClassifyRequest, CaseReply),
    Verb.CONFIRM_PRIVATE: (CaseConfirmPrivateRequest, CaseReply),
    Verb.RETRY_ARCHIVE: (ArchiveRetryRequest, ArchiveReply),
    Verb.ARCHIVE_REPLY: (ArchiveReplyRequest, ArchiveReply),
    Verb.PERSONAL_DECIDE: (PersonalDecideRequest, PersonalReply),
}
