"""The post@ thresholds' calibration (services/classifier/calibrate.py): its pure parts, with the
real rules; the cross-validation itself trains four models and is run by hand."""

from __future__ import annotations

from schemas.vocab import MailClass
from services.classifier.calibrate import Outcome, _tally, held_out_mail, post_mail
from services.classifier.engine import Classifier
from services.classifier.mailbox import delivered_mailbox
from services.classifier.training import Example
from services.common.mail import parse_mail
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG


def test_a_written_example_becomes_a_citizens_mail_to_post() -> None:
    org = load_organisation(DEFAULT_ORG_CONFIG)
    mail = parse_mail(post_mail("Søknad om barnehageplass. Vi søkjer plass frå august.", 3))
    assert mail.subject == "Søknad om barnehageplass"
    assert "Vi søkjer plass frå august." in mail.text
    assert delivered_mailbox(mail, org) == "post@ha.kommune.no"


def test_a_written_title_becomes_mail_built_on_it_without_its_training_body() -> None:
    org = load_organisation(DEFAULT_ORG_CONFIG)
    example = Example(
        "Søknad om driftstilskot 2026 - Bakkevik skulekorps\nVedlagt følgjer brevet. Helsing",
        None,
        "kultur",
        "written-titles",
    )
    mail = parse_mail(held_out_mail(example, 4))
    assert mail.subject == "Søknad om driftstilskot 2026 - Bakkevik skulekorps"
    assert "Vedlagt følgjer brevet" not in mail.text
    assert delivered_mailbox(mail, org) == "post@ha.kommune.no"


def test_a_wrong_department_costs_twice_a_mail_left_with_post() -> None:
    assert Outcome(2.0, 1.0, right=10, left_with_post=3, wrong=2).cost == 7


def test_suggestions_are_tallied_as_right_left_with_post_or_wrong() -> None:
    org = load_organisation(DEFAULT_ORG_CONFIG)
    classifier = Classifier()
    tally = [0, 0, 0]
    school = "Søknad om barnehageplass. Vi søkjer plass for dottera vår i barnehagen frå august."
    for department, text in (("skule", school), ("kultur", school), ("teknisk", "Hei. Takk.")):
        example = Example(text, MailClass.ARKIVVERDIG, department, "written")
        _tally(tally, example, post_mail(text, 1), classifier, org)
    assert tally == [1, 1, 1]
