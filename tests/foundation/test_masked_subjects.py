"""Identity numbers never enter the event stream (issue 16, finding 6): every subject an event
carries is masked at the contract boundary, in every written grouping, while dates, case numbers
and phone numbers keep their digits; the full subject stays in the MIME."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.commands import CaseHistoryItem, CaseSummary
from schemas.events import ID_NUMBER_MASK, Alert, MailReceived, MailRouted, NoticeSent, Party
from schemas.vocab import AlertKind, AssignmentPolicy, Channel, MailClass, NoticeKind
from services.common.idnumbers import mask_identity_numbers
from services.common.orgconfig import Organisation
from services.common.received import build_received
from tests.graph_emulator.conftest import raw_mail
from tests.support.signing import TEST_KEYS

FNR = "01019000008"  # a fødselsnummer with valid control digits
DNR = "41019000077"  # a d-nummer
NEW_RULE = "02013299997"  # Skatteetaten's example under the 2032 rule
WRITTEN = {
    "plain": FNR,
    "spaced": f"{FNR[:6]} {FNR[6:]}",
    "no-break space": f"{FNR[:6]}\u00a0{FNR[6:]}",
    "narrow no-break space": f"{FNR[:6]}\u202f{FNR[6:]}",
    "hyphen": f"{FNR[:6]}-{FNR[6:]}",
    "dotted date, grouped": f"{FNR[:2]}.{FNR[2:4]}.{FNR[4:6]} {FNR[6:9]} {FNR[9:]}",
    "grouped by no-break spaces": f"{FNR[:6]}\u00a0{FNR[6:9]}\u00a0{FNR[9:]}",
    "date in pairs": f"{FNR[:2]} {FNR[2:4]} {FNR[4:6]} {FNR[6:]}",
    "spaced hyphen": f"{FNR[:6]} - {FNR[6:]}",
    "d-nummer, thin spaces": f"{DNR[:6]}\u2009{DNR[6:9]}\u2009{DNR[9:]}",
    "2032 rule, figure spaces": f"{NEW_RULE[:6]}\u2007{NEW_RULE[6:]}",
}
ORDINARY = [
    "Møte 01.01.2024 kl. 10.00",
    "Sak 2024/12345",
    "Ring 51 43 50 00 eller +47 912 34 567",
    "Org.nr. 974 760 673",
    "Møte 01.01.2024 123",  # 11 digits grouped, but no identity number
    "Faktura på 12 345 678,00 kr",
]


@pytest.mark.parametrize("form", sorted(WRITTEN))
def test_identity_numbers_are_masked_in_every_grouping(form: str) -> None:
    written = WRITTEN[form]
    assert mask_identity_numbers(f"Gjeld {written}, takk", "#") == "Gjeld #, takk"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_keep_their_digits(text: str) -> None:
    assert mask_identity_numbers(text, "#") == text


def test_masking_grouped_numbers_is_linear() -> None:
    # Long runs of digit groups: each is walked once (a quadratic walk would take minutes).
    text = "1 " * 200_000 + "12 34 " * 100_000
    assert mask_identity_numbers(text, "#") == text


@pytest.mark.parametrize("form", sorted(WRITTEN))
def test_the_received_event_masks_the_subject_and_the_mime_keeps_it(
    org: Organisation, form: str
) -> None:
    subject = f"Bekymringsmelding om barn {WRITTEN[form]}"
    raw = raw_mail(subject, to="post@ha.kommune.no", message_id="<masked@example.org>")
    received = build_received(
        org, "post@ha.kommune.no", raw, "AAMk-1", datetime.now(UTC), keys=TEST_KEYS
    )
    assert received.subject == f"Bekymringsmelding om barn {ID_NUMBER_MASK}"
    assert WRITTEN[form] not in received.to_json().decode()
    assert subject.encode() in raw


def _routed(subject: str) -> MailRouted:
    return MailRouted(
        event_id="e",
        case_id="c",
        occurred_at=datetime.now(UTC),
        department="post",
        mail_class=MailClass.OFFISIELL,
        assignee=None,
        policy=AssignmentPolicy.UNASSIGNED,
        subject=subject,
    )


def _received() -> MailReceived:
    return MailReceived.build(
        case_id="c",
        department="post",
        mailbox="post@ha.kommune.no",
        internet_message_id=None,
        graph_message_id="g",
        sender=None,
        received_at=datetime.now(UTC),
        mime_sha256="0" * 64,
        mime_size=1,
    )


def test_no_copy_or_old_event_can_carry_an_identity_number_into_the_stream() -> None:
    routed = _routed(f"Søknad {WRITTEN['no-break space']}")
    assert routed.subject == f"Søknad {ID_NUMBER_MASK}"
    # A copy skips validation: the number is masked again when the event is written.
    copied = routed.model_copy(update={"subject": f"Søknad {FNR}"})
    assert FNR not in copied.to_json().decode()
    # An event published before masking existed is masked when a service reads it.
    stored = _received().to_json().replace(b'"subject":""', f'"subject":"Klage {FNR}"'.encode())
    old = MailReceived.model_validate_json(stored)
    assert old.subject == f"Klage {ID_NUMBER_MASK}"


def test_alerts_and_case_summaries_mask_identity_numbers_too() -> None:
    alert = Alert(
        event_id="e",
        case_id=None,
        occurred_at=datetime.now(UTC),
        department="post",
        kind=AlertKind.UNASSIGNED,
        summary=f"Ingen tok {FNR}",
        reason=WRITTEN["dotted date, grouped"],
    )
    assert (alert.summary, alert.reason) == (f"Ingen tok {ID_NUMBER_MASK}", ID_NUMBER_MASK)
    summary = CaseSummary.model_validate(
        {
            "case_id": "c",
            "department": "post",
            "mailbox": "post@ha.kommune.no",
            "subject": f"Sak {WRITTEN['spaced']}",
            "status": "ny",
            "received_at": datetime.now(UTC),
        }
    )
    assert summary.subject == f"Sak {ID_NUMBER_MASK}"


def test_every_other_field_that_can_quote_mail_text_is_masked() -> None:
    defects = _received().model_copy(update={"parse_defects": [f"charset-unknown:{FNR}"]})
    assert FNR not in defects.to_json().decode()
    history = CaseHistoryItem(at=datetime.now(UTC), who="x", what=f"Sak {FNR}", why=FNR)
    assert (history.what, history.why) == (f"Sak {ID_NUMBER_MASK}", ID_NUMBER_MASK)
    notice = NoticeSent(
        event_id="e",
        case_id="c",
        occurred_at=datetime.now(UTC),
        department="post",
        kind=NoticeKind.ASSIGNED,
        recipient=Party(address="kari@ha.kommune.no"),
        channel=Channel.EMAIL,
        about=f"assigned {WRITTEN['spaced']}",
    )
    assert notice.about == f"assigned {ID_NUMBER_MASK}"
