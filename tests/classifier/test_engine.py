"""Behaviour of the classifier that the corpus alone does not pin down: thread context, quotes,
staff mail, personal mailboxes, unparseable mail, confidence and reasons (R9, R9c, R17)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from schemas.vocab import MailClass
from services.classifier.corpus import classify_mime
from services.classifier.engine import Classifier
from services.classifier.mailbox import delivered_mailbox
from services.classifier.text import own_words, split_quoted
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation

CLASSIFIER = Classifier()


def mime(
    subject: str,
    body: str,
    sender: str = "Kari Nordmann <kari@epost.example>",
    to: str = "bygg@ha.kommune.no",
    in_reply_to: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<engine.test@example.org>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    message.set_content(body)
    return message.as_bytes()


def test_short_thanks_in_archival_thread_is_official(org: Organisation) -> None:  # R9b
    raw = mime(
        "SV: Vedtak i sak 26/0711",
        "Tusen takk for rask behandling!\n\nHelsing Kari",
        in_reply_to="<vedtak@ha.kommune.no>",
    )
    mail = parse_mail(raw)
    result = CLASSIFIER.classify(
        mail, "bygg@ha.kommune.no", org, thread_class=MailClass.ARKIVVERDIG
    )
    assert result.mail_class is MailClass.OFFISIELL
    assert "content.thanks_only" in result.reasons


def test_substantive_reply_in_archival_thread_is_archival(org: Organisation) -> None:  # R9a
    body = (
        "Hei. Eg har sett på vilkåra i vedtaket og lurer på om terrassen kan flyttast 2 meter "
        "lenger mot vest utan at det krev ny handsaming?"
    )
    mail = parse_mail(mime("SV: Vedtak i sak 26/0711", body, in_reply_to="<vedtak@ha.kommune.no>"))
    without = CLASSIFIER.classify(mail, "bygg@ha.kommune.no", org)
    within = CLASSIFIER.classify(
        mail, "bygg@ha.kommune.no", org, thread_class=MailClass.ARKIVVERDIG
    )
    assert without.mail_class is MailClass.OFFISIELL
    assert within.mail_class is MailClass.ARKIVVERDIG
    assert "thread.archival" in within.reasons


def test_quoted_decision_does_not_make_a_thanks_archival() -> None:
    text = (
        "Takk for svar!\n\n17. mars 2026 kl. 10:02 skrev Hå kommune <bygg@ha.kommune.no>:\n"
        "> Vedlagt følgjer vedtak. Klage må sendast innan tre veker."
    )
    own, quoted = split_quoted(text)
    assert own == "Takk for svar!"
    assert quoted.startswith("17. mars")
    forwarded = "-----Opprinnelig melding-----\nFra: x@example.org\nSøknad om løyve"
    assert own_words("VS: søknad", forwarded) == forwarded


def test_staff_forwarding_phishing_to_it_is_official(org: Organisation) -> None:  # R9b
    body = (
        "Hei, fekk denne i dag. Er det trygt å slette han?\n\n-----Opprinnelig melding-----\n"
        "Fra: Admin <admin@mail-upgrade.example>\nEmne: Verify your account\n"
        "Click here to verify your account and keep your current password."
    )
    result = classify_mime(
        mime(
            "VS: Verify your account",
            body,
            sender="Gerd Serigstad <gerd.serigstad@ha.kommune.no>",
            to="it@ha.kommune.no",
        ),
        CLASSIFIER,
        org,
    )
    assert result.mail_class is MailClass.OFFISIELL
    assert "phishing" not in result.topics


def test_work_in_a_personal_mailbox_is_not_private(org: Organisation) -> None:  # R9c
    work = classify_mime(
        mime(
            "Spørsmål om byggjesaka",
            "Hei Kristin, når kan eg vente vedtak i saka mi?",
            to="kristin.hovland@ha.kommune.no",
        ),
        CLASSIFIER,
        org,
    )
    assert work.mail_class is not MailClass.PRIVAT
    assert work.suggested_department == "bygg"
    private = classify_mime(
        mime("Middag?", "Kjem du på middag laurdag? Klem Kari", to="kristin.hovland@ha.kommune.no"),
        CLASSIFIER,
        org,
    )
    assert private.mail_class is MailClass.PRIVAT
    assert private.suggested_department == org.common_department


def test_mail_to_post_is_routed_by_vocabulary(org: Organisation) -> None:  # R5
    result = classify_mime(
        mime(
            "Søknad om ferdigattest",
            "Vi søkjer om ferdigattest for tilbygget, gnr. 3 bnr. 4. Vedlagt situasjonsplan.",
            to="post@ha.kommune.no",
        ),
        CLASSIFIER,
        org,
    )
    assert result.suggested_department == "bygg"
    vague = classify_mime(
        mime("Hei", "Kva tid opnar servicetorget i morgon?", to="post@ha.kommune.no"),
        CLASSIFIER,
        org,
    )
    assert vague.suggested_department == "post"


def test_mailbox_of_an_eml_file(org: Organisation) -> None:
    official = parse_mail(mime("x", "y", to="Ola <ola@example.org>, bygg@ha.kommune.no"))
    assert delivered_mailbox(official, org) == "bygg@ha.kommune.no"
    staff = parse_mail(mime("x", "y", to="siri.vold@ha.kommune.no"))
    assert delivered_mailbox(staff, org) == "siri.vold@ha.kommune.no"
    stranger = parse_mail(mime("x", "y", to="someone@example.org"))
    assert delivered_mailbox(stranger, org) == "post@ha.kommune.no"


def test_confidence_and_reasons_explain_the_decision(org: Organisation) -> None:
    clear = classify_mime(
        mime("Automatisk svar: Møte", "Eg er på ferie til og med 3. august."), CLASSIFIER, org
    )
    assert clear.mail_class is MailClass.PRIVAT and clear.confidence > 0.9
    assert clear.reasons[0] == "subject.auto_reply"
    assert clear.topics == ("autosvar",)
    plain = classify_mime(mime("Hei", "Hei"), CLASSIFIER, org)
    assert plain.mail_class is MailClass.OFFISIELL
    assert plain.reasons[0] == "default.offisiell"
    assert plain.confidence < clear.confidence
    assert plain.rules_version == CLASSIFIER.version


def test_every_mime_edge_file_is_classified(mime_edge: Path, org: Organisation) -> None:
    for path in sorted(mime_edge.glob("*.eml")):
        result = classify_mime(path.read_bytes(), CLASSIFIER, org)
        assert result.mail_class in MailClass, path.name
        assert result.suggested_department in org.departments
