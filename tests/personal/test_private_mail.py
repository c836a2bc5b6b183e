"""Finding 10 of issue #16: a personal mailbox forwards only what is surely official (R9c).

A labelled set of one person's mail (`mailbox/`, nynorsk, bokmål and English): none of the private
mail leaves the mailbox, not even as a question; clearly official mail is forwarded; mail the
classifier is unsure of, or that is sensitive, is its owner's to send (asked, never forwarded).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.vocab import MailClass
from services.classifier.engine import DEFAULT_REASON, Classification
from services.classifier.received import default_classifier
from services.classifier.ruleset import RulesError, parse_rules
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.ingest.config import IngestSettings
from services.ingest.personal import texts
from services.ingest.personal.verdict import (
    AskOwner,
    Forward,
    ForwardPolicy,
    LeaveAlone,
    destination,
    judge_received,
)
from tests.classifier.test_rules_file import shipped
from tests.personal.conftest import sample

MAILBOX = Path(__file__).with_name("mailbox")
LABELS: list[dict[str, str]] = yaml.safe_load((MAILBOX / "labels.yaml").read_text("utf-8"))
OWNER = "elin.tjessem@ha.kommune.no"
FINDING = ("p01_gp_appointment.eml", "p02_sick_pay_decision.eml", "p03_tax_notice.eml")


def policy() -> ForwardPolicy:
    return ForwardPolicy.from_rules(
        default_classifier().rules, IngestSettings().personal_forward_confidence
    )


def classify(raw: bytes, org: Organisation) -> Classification:
    return default_classifier().classify(parse_mail(raw), OWNER, org)


def verdict(raw: bytes, org: Organisation) -> Forward | AskOwner | LeaveAlone:
    return judge_received(classify(raw, org), org, policy())


def labelled(label: str) -> list[dict[str, str]]:
    return [entry for entry in LABELS if entry["label"] == label]


def test_the_labelled_set_covers_both_kinds_in_every_language() -> None:
    assert len(LABELS) >= 20
    assert {entry["file"] for entry in LABELS} == {p.name for p in MAILBOX.glob("*.eml")}
    for label in ("private", "official"):
        assert {entry["language"] for entry in labelled(label)} == {"nn", "nb", "en"}


@pytest.mark.parametrize("name", FINDING)
def test_the_findings_mail_stays_in_the_mailbox_without_a_question(
    name: str, org: Organisation
) -> None:
    # The GP's appointment, the owner's own sick-pay decision and tax notice were forwarded.
    assert verdict((MAILBOX / name).read_bytes(), org) == LeaveAlone()


def test_no_private_mail_leaves_the_mailbox(org: Organisation) -> None:
    judged = {
        e["file"]: verdict((MAILBOX / e["file"]).read_bytes(), org) for e in labelled("private")
    }
    assert {name: v for name, v in judged.items() if v != LeaveAlone()} == {}


def test_official_mail_is_forwarded_when_clear_and_asked_about_when_not(
    org: Organisation,
) -> None:
    for entry in labelled("official"):
        found = verdict((MAILBOX / entry["file"]).read_bytes(), org)
        expected = Forward if entry["expect"] == "forward" else AskOwner
        assert isinstance(found, expected), (entry["file"], found)


def test_a_clear_application_goes_to_the_suggested_sakspost(org: Organisation) -> None:
    application = classify((MAILBOX / "o01_application_nn.eml").read_bytes(), org)
    department = application.suggested_department
    expected = Forward(department, org.departments[department].addresses[0], MailClass.ARKIVVERDIG)
    assert judge_received(application, org, policy()) == expected


def test_official_by_the_prior_alone_is_left_alone(org: Organisation) -> None:
    raw = (
        "From: Ola Nordmann <ola@heimenett.example>\r\nTo: Elin <elin.tjessem@ha.kommune.no>\r\n"
        "Subject: Ting\r\nMessage-ID: <ting@heimenett.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nSjå vedlagt.\r\n"
    ).encode()
    without_model = default_classifier().classify(parse_mail(raw), OWNER, org)
    prior_only = Classification(
        mail_class=MailClass.OFFISIELL,
        confidence=0.99,
        sensitive=(),
        topics=(),
        suggested_department="post",
        reasons=(DEFAULT_REASON, "department.mailbox_owner"),
        scores=without_model.scores,
        rules_version=without_model.rules_version,
    )
    assert judge_received(prior_only, org, policy()) == LeaveAlone()
    # A colleague's mail is no evidence by itself either: the sender is not the content.
    from_staff = replace(prior_only, reasons=("sender.staff", "department.mailbox_owner"))
    assert judge_received(from_staff, org, policy()) == LeaveAlone()


def test_sensitive_official_mail_is_the_owners_to_send(org: Organisation) -> None:
    # A coach's concern about a girl, to the school nurse: archival, but sensitive (R2, R3).
    concern = classify(sample("0016.eml", to=OWNER), org)
    assert concern.mail_class is MailClass.ARKIVVERDIG and concern.sensitive
    assert judge_received(concern, org, policy()) == AskOwner(MailClass.ARKIVVERDIG)


def test_a_lower_threshold_forwards_what_a_higher_one_asks_about(org: Organisation) -> None:
    unsure = classify((MAILBOX / "o06_tender_en.eml").read_bytes(), org)
    strict = ForwardPolicy.from_rules(default_classifier().rules, 0.8)
    lenient = ForwardPolicy.from_rules(default_classifier().rules, unsure.confidence)
    assert judge_received(unsure, org, strict) == AskOwner(MailClass.ARKIVVERDIG)
    assert isinstance(judge_received(unsure, org, lenient), Forward)


def test_what_the_owner_sends_is_official_on_their_word(org: Organisation) -> None:
    private = classify((MAILBOX / "p15_dinner_nb.eml").read_bytes(), org)
    assert private.mail_class is MailClass.PRIVAT
    sent = destination(private, org)
    assert sent.mail_class is MailClass.OFFISIELL
    assert sent.address == org.departments[org.common_department].addresses[0]


def test_the_question_speaks_the_owners_language_and_names_the_category() -> None:
    received = datetime(2026, 9, 7, 9, 30, tzinfo=UTC)
    nn = texts.ask_owner("nn", MailClass.OFFISIELL, "Til Sakspost", "Anbod", received, False)
    nb = texts.ask_owner("nb", MailClass.OFFISIELL, "Til Sakspost", "Anbod", received, False)
    en = texts.ask_owner("en", MailClass.OFFISIELL, "To Sakspost", "Anbod", received, False)
    assert "tenestepost" in nn[0] and "«Til Sakspost»" in nn[1] and "Anbod" in nn[1]
    assert "tjenestepost" in nb[0] and "«Til Sakspost»" in nb[1]
    assert "official" in en[0] and "“To Sakspost”" in en[1]
    # A sensitive mail is named by when it came, never by its subject (R2, R3).
    secret = texts.ask_owner(
        "nn", MailClass.ARKIVVERDIG, "Til Sakspost", "Ola, 2412", received, True
    )
    assert "Ola" not in secret[1] and "07.09.2026 09:30" in secret[1]


def test_the_request_category_is_localised_or_configured() -> None:
    assert texts.request_category("nn", None) == "Til Sakspost"
    assert texts.request_category("en", None) == "To Sakspost"
    assert texts.request_category("en", "Arkiv") == "Arkiv"
    # Compared as Outlook compares categories: ignoring case.
    assert texts.request_categories(None) == {"til sakspost", "to sakspost"}
    assert texts.request_categories("Arkiv") == {"arkiv"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["personal"].update(private_topics=["nope"]), "personal.private_topics"),
        (lambda d: d["personal"].update(not_evidence=["no.such_rule"]), "personal.not_evidence"),
    ],
)
def test_the_personal_policy_names_only_known_topics_and_rules(change: Any, message: str) -> None:
    data = shipped()
    change(data)
    with pytest.raises(RulesError, match=message):
        parse_rules(data, "test-rules.yaml")
