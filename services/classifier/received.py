"""From a `received` event and its MIME to the `classified` event the service publishes (R9).

A quarantined mail (over a limit of what one mail may cost to read, or unreadable: issue #16) is
never judged on what little could be read, and never `offisiell` because nothing spoke against
it: it is `arkivverdig` with confidence 0, possibly sensitive (`unntatt_offentlighet`, with any
sensitive kind found in what was read), suggested to its own department, and its first reason is
`quarantine.<reason>`. A person of that department opens it; nothing of it is published openly.
"""

from __future__ import annotations

from functools import cache

from schemas.events import MailClassified, MailReceived, utc_now
from schemas.identity import make_event_id
from schemas.vocab import MailClass, QuarantineReason, SensitiveKind
from services.classifier.engine import IDENTITY_REASON, Classification, Classifier
from services.classifier.modelstore import load_current
from services.classifier.ruleset import default_rules
from services.common.mail import DEFAULT_LIMITS, MailLimits, parse_mail, quarantine_reason
from services.common.orgconfig import Organisation
from services.common.outgoing import original_of
from services.common.quarantine import reason_id
from services.common.seal import SigningKeys

_IDENTITY_KINDS = frozenset(
    {SensitiveKind.FODSELSNUMMER, SensitiveKind.DNUMMER, SensitiveKind.HNUMMER}
)


@cache
def default_classifier() -> Classifier:
    """One classifier per process: compiling the rule file and loading the current model
    (`models/current.json`) are the expensive part."""
    return Classifier(default_rules(), load_current())


def quarantined(
    reason: QuarantineReason, department: str, rules_version: str, read: Classification | None
) -> Classification:
    """The classification of a quarantined mail; `read` is what its readable part gave, if any
    of it could be read (its sensitive kinds and topics are kept, its class is not)."""
    found = set(read.sensitive) if read else set()
    sensitive = tuple(k for k in SensitiveKind if k in found | {SensitiveKind.UNNTATT_OFFENTLIGHET})
    identity = (IDENTITY_REASON,) if found & _IDENTITY_KINDS else ()
    return Classification(
        mail_class=MailClass.ARKIVVERDIG,
        confidence=0.0,
        sensitive=sensitive,
        topics=read.topics if read else (),
        suggested_department=department,
        reasons=(reason_id(reason), *identity),
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
    limits: MailLimits = DEFAULT_LIMITS,
) -> MailClassified:
    """The class of a received mail. A mail ingest quarantined is not read again; one whose
    parse here is over `limits`, or unreadable, is quarantined here. A mail forwarded from a
    personal mailbox (R9c) is judged by its attached original, when Sakspost's seal on it verifies
    (as ingest decided the case's sender). The service runs this in a worker process
    (`classifier` None: the worker's own, built once per process)."""
    engine = classifier or default_classifier()
    if event.quarantine is not None:
        return quarantined_event(event, engine, event.quarantine)
    mail = parse_mail(original_of(mime, org, keys, event.received_at), limits)
    result = engine.classify(mail, event.mailbox, org, thread_class)
    reason = quarantine_reason(mail)
    if reason is not None:
        result = quarantined(reason, event.department, engine.rules.version, result)
    return classified_event(event, engine, result)


def quarantined_event(
    event: MailReceived, engine: Classifier, reason: QuarantineReason
) -> MailClassified:
    """The `classified` event of a mail none of which could be read within the limits."""
    return classified_event(
        event, engine, quarantined(reason, event.department, engine.rules.version, None)
    )


def classified_event(
    event: MailReceived, engine: Classifier, result: Classification
) -> MailClassified:
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
