"""No rule is written for one mail: every rule must hold for at least two of the labelled mails
(dev corpus, held-out set, blind batch and the personal mailbox's set together). A rule that only
one mail needs encodes that mail's wording; say what the whole kind of mail has in common instead,
or drop the rule."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from services.classifier.corpus import eml_files
from services.classifier.engine import Classifier
from services.classifier.mailbox import delivered_mailbox
from services.common.mail import parse_mail
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG
from tests.conftest import SAMPLES

HERE = Path(__file__).parent
PERSONAL = HERE.parent / "personal" / "mailbox"
# Thread rules read the class of the earlier mail, which a lone .eml does not carry; their effect
# is tested with a thread class in test_engine.
NEEDS_THREAD = "thread."


def test_every_rule_holds_for_at_least_two_mails() -> None:
    org = load_organisation(DEFAULT_ORG_CONFIG)
    classifier = Classifier()
    usage: Counter[str] = Counter()
    for path in eml_files([SAMPLES, HERE / "heldout", HERE / "blind", PERSONAL]):
        mail = parse_mail(path.read_bytes())
        view = classifier.view(mail, delivered_mailbox(mail, org), org, None)
        usage.update(rule.id for rule in classifier.fired_rules(view))
    rare = {
        rule.id: usage[rule.id]
        for rule in classifier.rules.rules
        if usage[rule.id] < 2 and not rule.id.startswith(NEEDS_THREAD)
    }
    assert not rare, f"rules that hold for fewer than two labelled mails: {rare}"
