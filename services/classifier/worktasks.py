"""What the classifier's worker processes run (`services/common/workers.py`).

The organisation, the signing keys and the parse limits are the same for every mail: the pool
sends them once to each worker (`WorkerPool.share`) as `Shared`, and a task carries only the
mail's own values. The classifier itself is built in the forkserver (`preload.py`), so a worker
starts with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.events import Alert, MailClassified, MailReceived, MailSent
from schemas.vocab import MailClass
from services.classifier.outgoing import check_sent
from services.classifier.received import classify_received
from services.common.mail import MailLimits
from services.common.orgconfig import Organisation
from services.common.seal import SigningKeys


@dataclass(frozen=True, slots=True)
class Shared:
    org: Organisation
    keys: SigningKeys
    limits: MailLimits


def classify_task(
    shared: Shared, event: MailReceived, mime: bytes, thread_class: MailClass | None
) -> MailClassified:
    return classify_received(
        event, mime, shared.org, shared.keys, thread_class, None, shared.limits
    )


def check_sent_task(
    shared: Shared, event: MailSent, mime: bytes, thread_class: MailClass | None, now: datetime
) -> list[Alert]:
    return check_sent(event, mime, shared.org, shared.keys, thread_class, None, now)
