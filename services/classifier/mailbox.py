"""Which mailbox an .eml file was delivered to, when only the file is known (CLI, evaluation)."""

from __future__ import annotations

from services.common.mail import ParsedMail
from services.common.orgconfig import Organisation


def delivered_mailbox(mail: ParsedMail, org: Organisation) -> str:
    """The first To/Cc address that is an official address, else the first staff address, else
    the common mailbox (mail to nobody we know, such as third-party test mail, goes to post@)."""
    recipients = [a.address for a in (*mail.to, *mail.cc)]
    for address in recipients:
        if org.department_for_address(address) is not None:
            return address
    for address in recipients:
        if org.staff_by_email(address) is not None:
            return address
    return org.departments[org.common_department].addresses[0]
