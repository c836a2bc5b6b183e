"""Department routing (R5, R8, R10): which department owns a case and whose supervisors hear of it.

The mailbox decides. Only mail to the common mailbox (post@) may move, and only to the department
the classifier suggests when it is confident; otherwise it stays with post@'s own rota.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.orgconfig import Organisation


@dataclass(frozen=True)
class DepartmentDecision:
    department: str
    """The department that owns the case; its supervisors hear about it (R10)."""
    previous_department: str | None
    """The mailbox's department when the case moved away from it, else None."""
    why: str


def route_department(
    org: Organisation,
    mailbox_department: str,
    suggested_department: str | None,
    confidence: float,
) -> DepartmentDecision:
    if mailbox_department not in org.departments:
        raise ValueError(f"{mailbox_department!r} is not a department of {org.name}")
    if mailbox_department != org.common_department:
        return DepartmentDecision(mailbox_department, None, "the mailbox decides (R5)")
    if suggested_department is None or suggested_department == mailbox_department:
        return DepartmentDecision(mailbox_department, None, "no other department suggested")
    if suggested_department not in org.departments:
        return DepartmentDecision(
            mailbox_department, None, f"suggested department {suggested_department!r} is unknown"
        )
    threshold = org.confidence.redistribute_from_common
    if confidence < threshold:
        return DepartmentDecision(
            mailbox_department,
            None,
            f"confidence {confidence:.2f} below {threshold:.2f}: stays with the common mailbox",
        )
    return DepartmentDecision(
        suggested_department,
        mailbox_department,
        f"moved from the common mailbox to {suggested_department} (confidence {confidence:.2f})",
    )
