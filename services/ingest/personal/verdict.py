"""What to do with one mail in a personal mailbox (pure): forward it, warn its owner, or nothing.

- Inbox (R9c): official or archival mail goes to the Sakspost the classifier suggests (its first
  address), else to the common one; private mail is left alone.
- Sent Items (R15, R2, R3): a reply to a Sakspost case, or mail holding sensitive content or a
  confidentiality marking, is told to the owner alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.vocab import MailClass, SensitiveKind
from services.classifier.engine import Classification
from services.common.orgconfig import Organisation

OFFICIAL_CLASSES = frozenset({MailClass.ARKIVVERDIG, MailClass.OFFISIELL})


@dataclass(frozen=True)
class Forward:
    """Misdirected official mail: move it to this Sakspost address."""

    department: str
    address: str
    mail_class: MailClass


@dataclass(frozen=True)
class LeaveAlone:
    """Private mail: not Sakspost's business."""


@dataclass(frozen=True)
class WarnOwner:
    """Sent mail the owner should know about; never anyone else."""

    replied_to_case: bool
    sensitive: tuple[SensitiveKind, ...]


def judge_received(classification: Classification, org: Organisation) -> Forward | LeaveAlone:
    if classification.mail_class not in OFFICIAL_CLASSES:
        return LeaveAlone()
    key = classification.suggested_department
    if key not in org.departments:
        key = org.common_department
    return Forward(key, org.departments[key].addresses[0], classification.mail_class)


def judge_sent(classification: Classification, replied_to_case: bool) -> WarnOwner | None:
    if not replied_to_case and not classification.sensitive:
        return None
    return WarnOwner(replied_to_case, classification.sensitive)
