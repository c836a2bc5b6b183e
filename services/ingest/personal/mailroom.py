"""One personal mail, in memory: read it, judge it, forward it or tell its owner (R9c, R15).

Used by the live watcher and the offboarding sweep alike. The raw mail lives in local variables
only; what leaves this module is a Graph send (the forward to Sakspost, a notice to the owner), a
mark in KV that a mail was forwarded or its owner asked (its Graph id, never content) and, for the
logs and counters, nothing but counts. A mail its owner gives the request category ("Til
Sakspost") is forwarded on the owner's word, once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

import structlog

from schemas.identity import make_case_id
from services.classifier.engine import Classification
from services.classifier.received import default_classifier
from services.classifier.ruleset import default_rules
from services.common.categories import category_key
from services.common.clock import Clock, system_clock
from services.common.mail import MailLimits, ParsedMail, parse_mail, without_contents
from services.common.orgconfig import Organisation, StaffMember
from services.common.outgoing import Marker, forward_mime, mark_notice, sakspost_marker
from services.common.seal import SigningKeys
from services.common.workers import OverLimit, WorkerPool
from services.ingest.config import IngestSettings
from services.ingest.gateway import GraphGateway, MessageGone
from services.ingest.personal import texts
from services.ingest.personal.state import PersonalState
from services.ingest.personal.verdict import (
    AskOwner,
    Forward,
    ForwardPolicy,
    LeaveAlone,
    WarnOwner,
    destination,
    judge_received,
    judge_sent,
)
from services.ingest.state import IngestState

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Judged:
    """A judged mail; `mail` and `classification` stay in memory with the caller."""

    mail: ParsedMail
    classification: Classification


def judge_mail(raw: bytes, mailbox: str, org: Organisation, limits: MailLimits) -> Judged:
    """Run in a worker process: parse and classify one personal mail."""
    mail = parse_mail(raw, limits)
    return Judged(without_contents(mail), default_classifier().classify(mail, mailbox, org))


def owner_notice_mime(
    org: Organisation,
    keys: SigningKeys,
    owner: StaffMember,
    title: str,
    body: str,
    about: bytes,
    now: datetime,
) -> bytes:
    """A notice to the owner from the no-reply mailbox, sealed so no check ever judges it."""
    notice_id = hashlib.sha256(owner.id.encode() + b"\n" + title.encode() + about).hexdigest()[:32]
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = formataddr(("Sakspost", org.no_reply_address))
    mail["To"] = formataddr((owner.name, owner.email))
    mail["Subject"] = title
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{notice_id}.personal@{org.no_reply_address.partition('@')[2]}>"
    mark_notice(mail, notice_id, keys, now)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(body + "\n", subtype="plain", charset="utf-8")
    return mail.as_bytes()


class Mailroom:
    def __init__(
        self,
        org: Organisation,
        gateway: GraphGateway,
        ingest_state: IngestState,
        state: PersonalState,
        config: IngestSettings,
        keys: SigningKeys,
        workers: WorkerPool,
        limits: MailLimits,
        clock: Clock = system_clock,
    ) -> None:
        self._org = org
        self._keys = keys
        self._gateway = gateway
        self._ingest_state = ingest_state
        self._state = state
        self._category = config.personal_category
        self._requests = texts.request_categories(config.personal_category)
        self._policy = ForwardPolicy.from_rules(default_rules(), config.personal_forward_confidence)
        self._workers = workers
        self._limits = limits
        self._clock = clock

    async def read(self, owner: StaffMember, message_id: str) -> bytes | None:
        """The raw mail, or None when it is gone or is Sakspost's own (a notice, a forward).

        A marker without a valid seal is judged like any mail. The seal's age is not checked:
        the sweep reads years-old mail, and a seal binds the notice's or forward's own content.
        """
        try:
            raw = await self._gateway.mime(owner.email, message_id)
        except MessageGone:
            return None
        return None if sakspost_marker(raw, self._org, self._keys, None) is Marker.SEALED else raw

    async def judge(self, owner: StaffMember, raw: bytes) -> Judged | None:
        """The mail judged in a worker process; None when it is over a limit there: such a mail
        is left where it is, never forwarded (nothing private may leave on a guess)."""
        judged = await self._workers.run(judge_mail, raw, owner.email, self._org, self._limits)
        if isinstance(judged, OverLimit):
            log.warning("personal mail over a limit, left alone", limit=judged.limit)
            return None
        return judged

    def received_verdict(self, judged: Judged) -> Forward | AskOwner | LeaveAlone:
        return judge_received(judged.classification, self._org, self._policy)

    async def forward(self, owner: StaffMember, raw: bytes, judged: Judged, to: Forward) -> None:
        """Send the mail, attached whole, from the owner's mailbox to Sakspost; tell the owner."""
        language = owner.language
        wrapper = forward_mime(
            raw,
            owner.name,
            owner.email,
            to.address,
            f"VS: {judged.mail.subject}",
            texts.forward_note(language, owner.name),
            self._clock(),
            self._keys,
        )
        await self._gateway.send_mime(owner.email, wrapper)
        title, body = texts.forwarded(language, to.address, to.mail_class, judged.mail.subject)
        await self.tell_owner(owner, title, body, raw)

    async def tell_owner(self, owner: StaffMember, title: str, body: str, about: bytes) -> None:
        raw = owner_notice_mime(self._org, self._keys, owner, title, body, about, self._clock())
        await self._gateway.send_mime(self._org.no_reply_address, raw)

    async def on_received(
        self, owner: StaffMember, message_id: str
    ) -> Forward | AskOwner | LeaveAlone | None:
        """An Inbox mail (R9c): forwarded when surely official, its owner asked when maybe; None
        when gone, Sakspost's own, or forwarded or asked about before."""
        if await self._state.outcome(owner.id, message_id) is not None:
            return None
        raw = await self.read(owner, message_id)
        if raw is None:
            return None
        judged = await self.judge(owner, raw)
        if judged is None:
            return LeaveAlone()
        verdict = self.received_verdict(judged)
        if isinstance(verdict, Forward):
            await self.forward(owner, raw, judged, verdict)
            await self._state.record_outcome(owner.id, message_id, "forwarded")
        elif isinstance(verdict, AskOwner):
            await self._ask(owner, verdict, judged, raw)
            await self._state.record_outcome(owner.id, message_id, "asked")
        return verdict

    async def on_owner_request(self, owner: StaffMember, message_id: str) -> bool:
        """An Inbox mail its owner gave the request category: forwarded now (True), once."""
        try:
            snapshot = await self._gateway.message(owner.email, message_id)
        except MessageGone:
            return False
        if not self._requests.intersection(category_key(c) for c in snapshot.categories):
            return False
        if await self._state.outcome(owner.id, message_id) == "forwarded":
            return False
        raw = await self.read(owner, message_id)
        if raw is None:
            return False
        judged = await self.judge(owner, raw)
        if judged is None:  # over a limit: the owner forwards it by hand, as with any mail
            return False
        await self.forward(owner, raw, judged, destination(judged.classification, self._org))
        await self._state.record_outcome(owner.id, message_id, "forwarded")
        return True

    async def _ask(self, owner: StaffMember, asked: AskOwner, judged: Judged, raw: bytes) -> None:
        language = owner.language
        received = judged.mail.date
        title, body = texts.ask_owner(
            language,
            asked.mail_class,
            texts.request_category(language, self._category),
            judged.mail.subject,
            received.astimezone(ZoneInfo(self._org.timezone)) if received else None,
            bool(judged.classification.sensitive),
        )
        await self.tell_owner(owner, title, body, raw)

    async def on_sent(self, owner: StaffMember, message_id: str) -> bool:
        """A Sent Items mail (R15, R2, R3); True when its owner was told about it."""
        raw = await self.read(owner, message_id)
        if raw is None:
            return False
        judged = await self.judge(owner, raw)
        if judged is None:
            return False
        warning = judge_sent(judged.classification, await self._replies_to_case(judged.mail))
        if warning is None:
            return False
        await self._warn(owner, warning, judged, raw)
        return True

    async def _warn(
        self, owner: StaffMember, warning: WarnOwner, judged: Judged, raw: bytes
    ) -> None:
        title, body = texts.sent_warning(
            owner.language, warning.replied_to_case, warning.sensitive, judged.mail.subject
        )
        await self.tell_owner(owner, title, body, raw)

    async def _replies_to_case(self, mail: ParsedMail) -> bool:
        """The mail answers one that reached a Sakspost mailbox (ingest received it)."""
        earlier = [mail.in_reply_to] if mail.in_reply_to else []
        earlier += list(mail.references)
        for message_id in earlier:
            for department in self._org.departments.values():
                case_id = make_case_id(department.addresses[0], message_id, "")
                if await self._ingest_state.was_received(case_id):
                    return True
        return False
