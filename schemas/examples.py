"""One example of every contract payload, for the `examples` of the AsyncAPI documents.

Built through the models themselves, so an example that no longer fits its model fails at import
(and in the tests) instead of showing integrators a payload Sakspost would never send. They live
here rather than in `json_schema_extra` so that the JSON Schemas in `schemas/json/` stay as they
are. One fictitious mail in Hå's post mailbox runs through all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.commands import (
    ArchiveReply,
    ArchiveReplyRequest,
    ArchiveRetryRequest,
    CaseAssignRequest,
    CaseClassifyRequest,
    CaseConfirmPrivateRequest,
    CaseDetail,
    CaseDoneRequest,
    CaseHistoryItem,
    CaseListReply,
    CaseListRequest,
    CaseReply,
    CaseShowRequest,
    CaseSummary,
    PersonalDecideRequest,
    PersonalReply,
)
from schemas.events import (
    Alert,
    ArchivedDocument,
    CaseViewed,
    ContractModel,
    MailArchived,
    MailChanged,
    MailClassified,
    MailCompleted,
    MailDeleted,
    MailReceived,
    MailRouted,
    MailSent,
    NoticeSent,
    Party,
)
from schemas.identity import make_case_id, make_event_id
from schemas.vocab import (
    AlertKind,
    AssignmentPolicy,
    Channel,
    CompletedVia,
    DeletionKind,
    DocumentRole,
    MailClass,
    NoticeKind,
    Status,
)

MAILBOX = "post@ha.kommune.no"
RECEIVED_AT = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
MIME_SHA256 = "9f2c" * 16
CASE_ID = make_case_id(MAILBOX, "a1b2c3@innbyggjar.example", "AAMkAGI2-post-1")
SENDER = Party(address="kari.nordmann@innbyggjar.example", name="Kari Nordmann")
CASEWORKER = Party(address="ola.saksbehandlar@ha.kommune.no", name="Ola Saksbehandlar", id="ola")
SUPERVISOR = Party(address="leiar.post@ha.kommune.no", name="Leiar Post", id="leiar-post")


def _at(minutes: int) -> datetime:
    return RECEIVED_AT + timedelta(minutes=minutes)


def _event_id(event: str, *facts: str) -> str:
    return make_event_id(event, CASE_ID, *facts)


_SUMMARY = CaseSummary(
    case_id=CASE_ID,
    department="post",
    mailbox=MAILBOX,
    subject="Søknad om byggeløyve",
    mail_class=MailClass.ARKIVVERDIG,
    status=Status.TILDELT,
    assignee=CASEWORKER,
    policy=AssignmentPolicy.RULE,
    received_at=RECEIVED_AT,
    due_at=_at(3 * 24 * 60),
)

_EXAMPLES: tuple[ContractModel, ...] = (
    MailReceived.build(
        case_id=CASE_ID,
        department="post",
        mailbox=MAILBOX,
        internet_message_id="a1b2c3@innbyggjar.example",
        graph_message_id="AAMkAGI2-post-1",
        conversation_id="AAQkAGI2-conv-1",
        sender=SENDER,
        to=[Party(address=MAILBOX)],
        subject="Søknad om byggeløyve",
        received_at=RECEIVED_AT,
        mime_sha256=MIME_SHA256,
        mime_size=48213,
    ),
    MailClassified(
        event_id=_event_id("classified"),
        case_id=CASE_ID,
        occurred_at=_at(1),
        department="post",
        mail_class=MailClass.ARKIVVERDIG,
        confidence=0.92,
        topics=["byggesak"],
        reasons=["topic:byggesak"],
        rules_version="2026-03-01",
    ),
    MailRouted(
        event_id=_event_id("routed"),
        case_id=CASE_ID,
        occurred_at=_at(2),
        department="post",
        mail_class=MailClass.ARKIVVERDIG,
        assignee=CASEWORKER,
        policy=AssignmentPolicy.RULE,
        supervisors=[SUPERVISOR],
        due_at=_at(3 * 24 * 60),
        mailbox=MAILBOX,
        graph_message_id="AAMkAGI2-post-1",
        mime_sha256=MIME_SHA256,
        subject="Søknad om byggeløyve",
        sender=SENDER,
        topics=["byggesak"],
    ),
    MailArchived(
        event_id=_event_id("archived"),
        case_id=CASE_ID,
        occurred_at=_at(4),
        department="post",
        archive_system="websak",
        journalpost_id="JP-2026-001234",
        registry_number="2026/1234-1",
        documents=[
            ArchivedDocument(
                role=DocumentRole.MAIN,
                filename="soknad.pdf",
                media_type="application/pdf",
                sha256="3c7d" * 16,
            )
        ],
    ),
    MailCompleted(
        event_id=_event_id("completed"),
        case_id=CASE_ID,
        occurred_at=_at(5),
        department="post",
        by=CASEWORKER,
        via=CompletedVia.ARCHIVE,
    ),
    MailChanged(
        event_id=_event_id("changed", "CQAAABYAAAA-1"),
        case_id=CASE_ID,
        occurred_at=_at(30),
        department="post",
        mailbox=MAILBOX,
        graph_message_id="AAMkAGI2-post-1",
        change_key="CQAAABYAAAA-1",
        categories=["Sakspost: Tildelt"],
        flag_status="flagged",
    ),
    MailDeleted(
        event_id=_event_id("deleted"),
        case_id=CASE_ID,
        occurred_at=_at(60),
        department="post",
        mailbox=MAILBOX,
        graph_message_id="AAMkAGI2-post-1",
        how=DeletionKind.MOVED_TO_DELETED_ITEMS,
    ),
    MailSent(
        event_id=make_event_id("sent", make_case_id(MAILBOX, "svar-1@ha.kommune.no", "sent-1")),
        case_id=make_case_id(MAILBOX, "svar-1@ha.kommune.no", "sent-1"),
        occurred_at=_at(90),
        department="post",
        mailbox=MAILBOX,
        internet_message_id="svar-1@ha.kommune.no",
        graph_message_id="sent-1",
        conversation_id="AAQkAGI2-conv-1",
        in_reply_to="a1b2c3@innbyggjar.example",
        sent_at=_at(90),
        mime_sha256="5e1a" * 16,
        mime_size=10240,
    ),
    Alert(
        event_id=_event_id("alert", AlertKind.OVERDUE.value),
        case_id=CASE_ID,
        occurred_at=_at(3 * 24 * 60 + 1),
        department="post",
        kind=AlertKind.OVERDUE,
        summary="1 case is past its deadline",
        case_ids=[CASE_ID],
    ),
    NoticeSent(
        event_id=_event_id("notice_sent", "ola", NoticeKind.ASSIGNED.value),
        case_id=CASE_ID,
        occurred_at=_at(3),
        department="post",
        kind=NoticeKind.ASSIGNED,
        recipient=CASEWORKER,
        channel=Channel.EMAIL,
        about="routed",
    ),
    CaseViewed(
        event_id=_event_id("case_viewed", "leiar-post", "1"),
        case_id=CASE_ID,
        occurred_at=_at(20),
        department="post",
        viewer="leiar-post",
    ),
    CaseListRequest(department="post", status=Status.TILDELT, overdue=True),
    CaseShowRequest(case_id=CASE_ID),
    CaseAssignRequest(request_id="req-0001-assign", case_id=CASE_ID, to="ola"),
    CaseDoneRequest(request_id="req-0002-done", case_id=CASE_ID),
    CaseClassifyRequest(
        request_id="req-0003-classify", case_id=CASE_ID, mail_class=MailClass.OFFISIELL
    ),
    CaseConfirmPrivateRequest(request_id="req-0004-confirm", case_id=CASE_ID),
    ArchiveRetryRequest(request_id="req-0005-retry", case_id=CASE_ID),
    ArchiveReplyRequest(request_id="req-0006-reply", case_id=CASE_ID),
    PersonalDecideRequest(request_id="req-0007-personal", opted_in=True),
    ArchiveReply(
        now=_at(11),
        case_id=CASE_ID,
        outcome="archived",
        journalpost_id="2026000123",
        registry_number="2026/123-1",
        archive_case_id="2026/123",
        by="leiar-post",
    ),
    PersonalReply(now=_at(12), staff_id="ola", opted_in=True, at=_at(12)),
    CaseListReply(now=_at(4 * 24 * 60), cases=[_SUMMARY.model_copy(update={"overdue": True})]),
    CaseReply(
        now=_at(10),
        changed=True,
        case=CaseDetail(
            **_SUMMARY.model_dump(),
            topics=["byggesak"],
            supervisors=[SUPERVISOR],
            history=[CaseHistoryItem(at=_at(10), who="leiar-post", what="assigned to ola")],
        ),
    ),
)

# By model name: that is also each payload's name in an AsyncAPI document's components/schemas.
EXAMPLES: dict[str, ContractModel] = {type(example).__name__: example for example in _EXAMPLES}
