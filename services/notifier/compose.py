"""From events to notices: who is told what, with which route (pure)."""

from __future__ import annotations

from schemas.events import MailRouted
from schemas.vocab import NoticeKind, Status
from services.common.orgconfig import Organisation, StaffMember
from services.notifier.config import NotifierConfig, Route
from services.notifier.digest import Digest
from services.notifier.kvstore import AlertGroup
from services.notifier.messages import alert_message, assigned_message, digest_message
from services.notifier.notice import Notice, Recipient, notice_id


def assignee_of(routed: MailRouted, org: Organisation) -> Recipient | None:
    """The assignee as a recipient; staff found by id or address (language from the staff list)."""
    party = routed.assignee
    if party is None:
        return None
    member = next((m for m in org.staff if party.id and m.id == party.id), None)
    member = member or org.staff_by_email(party.address)
    if member is not None:
        return Recipient.of(member)
    return Recipient(party.id or party.address, party.name or party.address, party.address,
                     org.default_language)  # fmt: skip


def assigned_notice(routed: MailRouted, org: Organisation, config: NotifierConfig) -> Notice | None:
    """R11: the assignee of an open case is told once; a reassignment tells the new assignee."""
    recipient = assignee_of(routed, org)
    if recipient is None or routed.status == Status.FERDIG:
        return None
    department = routed.department if routed.department in org.departments else None
    route = config.for_department(department or org.common_department).assigned
    return Notice(
        notice_id=notice_id(NoticeKind.ASSIGNED, routed.case_id, recipient),
        kind=NoticeKind.ASSIGNED,
        department=routed.department,
        case_id=routed.case_id,
        about=routed.mail_class.value,
        recipient=recipient,
        message=assigned_message(routed, recipient.language, org, config.outlook_link),
        route=route,
    )


def alert_department(department: str, org: Organisation) -> str:
    """An alert for a department the organisation does not know goes to the common one's tilsyn."""
    return department if department in org.departments else org.common_department


def _alert_notice(
    group: AlertGroup,
    recipient: Recipient,
    route: Route,
    org: Organisation,
    config: NotifierConfig,
    *,
    case_id: str | None,
    to_operations: bool = False,
) -> Notice:
    """One recipient's message about a group of alerts of one kind in one department."""
    department = alert_department(group.department, org)
    alert_ids = sorted(alert.event_id for alert in group.alerts)
    message = alert_message(
        group.kind,
        org.departments[department].name,
        group.alerts,
        recipient.language,
        config.max_listed_cases,
        to_operations=to_operations,
    )
    return Notice(
        notice_id=notice_id(NoticeKind.ALERT, case_id, recipient, *alert_ids),
        kind=NoticeKind.ALERT,
        department=department,
        case_id=case_id,
        about=group.kind.value,
        recipient=recipient,
        message=message,
        route=route,
        to_operations=to_operations,
    )


def alert_notices(
    group: AlertGroup, recipients: list[StaffMember], org: Organisation, config: NotifierConfig
) -> list[Notice]:
    """The department's supervisors' messages about a group of alerts."""
    case_ids = {alert.case_id for alert in group.alerts}
    case_id = case_ids.pop() if len(case_ids) == 1 and len(group.alerts) == 1 else None
    route = config.for_department(alert_department(group.department, org)).alerts
    return [
        _alert_notice(group, Recipient.of(member), route, org, config, case_id=case_id)
        for member in recipients
    ]


OPERATIONS_RECIPIENT = "operations"


def operations_notice(
    group: AlertGroup, org: Organisation, config: NotifierConfig
) -> Notice | None:
    """The same group told to operations, besides the supervisors, when they take its kind."""
    operations = config.operations
    if operations is None or group.kind not in operations.alert_kinds:
        return None
    recipient = Recipient(
        OPERATIONS_RECIPIENT,
        OPERATIONS_RECIPIENT,
        operations.address_in(org) or "",
        operations.language,
    )
    return _alert_notice(
        group, recipient, operations, org, config, case_id=None, to_operations=True
    )


def digest_notices(
    digest: Digest, recipients: list[StaffMember], org: Organisation, config: NotifierConfig
) -> list[Notice]:
    name = org.departments[digest.department].name
    notices = []
    for member in recipients:
        recipient = Recipient.of(member)
        notices.append(
            Notice(
                notice_id=notice_id(
                    NoticeKind.DIGEST, None, recipient, digest.department, digest.day
                ),
                kind=NoticeKind.DIGEST,
                department=digest.department,
                case_id=None,
                about=f"digest {digest.day}",
                recipient=recipient,
                message=digest_message(digest, name, recipient.language),
                route=config.for_department(digest.department).digest,
            )
        )
    return notices
