"""Request-reply commands to the router on `sakspost.cmd.<verb>` (the router alone writes cases).

Supervisors' tools (`sakspost cases …`) send a request model as JSON and get a reply model back.
A reply either carries its result (`ok: true`) or an error with a stable `code` and the `params` a
client needs to say what went wrong in its own language; `message` is the router's English text.

Changing commands (assign, done, classify) carry a `request_id`: the router applies a request once,
so a client may safely repeat it after a timeout.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

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

    @property
    def subject(self) -> str:
        return command_subject(self.value)


class ErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    UNKNOWN_CASE = "unknown_case"
    UNKNOWN_STAFF = "unknown_staff"
    UNKNOWN_DEPARTMENT = "unknown_department"
    NOT_A_MEMBER = "not_a_member"
    NOT_CLASSIFIED = "not_classified"
    BUSY = "busy"
    INTERNAL = "internal"


class CaseListRequest(ContractModel):
    department: str | None = None
    status: CaseStatus | None = None
    assignee: str | None = Field(default=None, description="Staff id")
    overdue: bool = False


class CaseShowRequest(ContractModel):
    case_id: str


class CaseAssignRequest(ContractModel):
    request_id: str = Field(min_length=8, description="Unique per request; repeats apply once")
    case_id: str
    to: str = Field(description="Staff id of the new assignee")
    by: str | None = Field(default=None, description="Staff id of who reassigns")


class CaseDoneRequest(ContractModel):
    request_id: str = Field(min_length=8)
    case_id: str
    by: str = Field(description="Staff id of who finished the case (R12)")


class CaseClassifyRequest(ContractModel):
    request_id: str = Field(min_length=8)
    case_id: str
    mail_class: MailClass
    by: str = Field(description="Staff id of who corrects the class (R17)")


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


__all__ = [
    "CaseAssignRequest",
    "CaseClassifyRequest",
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
    "ErrorCode",
    "Verb",
]


# Each verb's request and reply models (for the generated JSON Schemas and AsyncAPI document).
COMMANDS: dict[Verb, tuple[type[ContractModel], type[ContractModel]]] = {
    Verb.LIST: (CaseListRequest, CaseListReply),
    Verb.SHOW: (CaseShowRequest, CaseReply),
    Verb.ASSIGN: (CaseAssignRequest, CaseReply),
    Verb.DONE: (CaseDoneRequest, CaseReply),
    Verb.CLASSIFY: (CaseClassifyRequest, CaseReply),
}
