"""From a `received` event and its MIME to the `classified` event the service publishes (R9)."""

from __future__ import annotations

from functools import cache

from schemas.events import MailClassified, MailReceived, utc_now
from schemas.identity import make_event_id
from schemas.vocab import MailClass
from services.classifier.engine import Classification, Classifier
from services.classifier.modelstore import load_current
from services.classifier.ruleset import default_rules
from services.common.mail import ParsedMail, parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import original_of
from services.common.seal import SigningKeys

UNPARSEABLE_REASON = "unparseable"


@cache
def default_classifier() -> Classifier:
    """One classifier per process: compiling the rule file and loading the current model
    (`models/current.json`) are the expensive part."""
    return Classifier(default_rules(), load_current())


def is_unparseable(mail: ParsedMail) -> bool:
    """Nothing a human or a rule could judge: no header at all, or the parser gave up."""
    return not mail.headers or "parse-failed" in mail.defects


def _needs_a_human(org: Organisation, rules_version: str) -> Classification:
    return Classification(
        mail_class=MailClass.OFFISIELL,
        confidence=0.0,
        sensitive=(),
        topics=(),
        suggested_department=org.common_department,
        reasons=(UNPARSEABLE_REASON,),
        scores={},
        rules_version=rules_version,
    )


def classify_received(
    event: MailReceived,
    mime: bytes,
    org: Organisation,
    keys: SigningKeys,
    thread_class: MailClass | None = None,
    classifier: Classifier | None = None,
) -> MailClassified:
    """The class of a received mail; a mail that cannot be parsed is `offisiell` with confidence 0
    and reason `unparseable`, so that a human looks at it (never dropped). A mail forwarded from
    a personal mailbox (R9c) is judged by its attached original, when Sakspost's seal on it verifies
    (as ingest decided the case's sender)."""
    engine = classifier or default_classifier()
    mail = parse_mail(original_of(mime, org, keys, event.received_at))
    result = (
        _needs_a_human(org, engine.rules.version)
        if is_unparseable(mail)
        else engine.classify(mail, event.mailbox, org, thread_class)
    )
    return MailClassified(
        event_id=make_event_id("classified", event.case_id, engine.version),
        case_id=event.case_id,
        occurred_at=utc_now(),
        department=event.department,
        rules_version=engine.rules.version,
        model_version=engine.model_version,
        mail_class=result.mail_class,
        confidence=result.confidence,
        sensitive=list(result.sensitive),
        topics=list(result.topics),
        reasons=list(result.reasons),
        suggested_department=result.suggested_department,
    )
