"""What the rules look at: a parsed mail seen from one mailbox of one organisation.

Built once per mail, so that every rule reads the same normalised texts, sender kinds and
attachment names instead of recomputing them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from schemas.vocab import MailClass
from services.classifier.identity import IdentityNumberFinder
from services.classifier.prefilter import NeedleIndex, Needles, fold
from services.classifier.ruleset import MailboxKind, SenderKind, SenderKinds
from services.classifier.text import is_forward_subject, is_reply_subject, own_words, word_count
from services.common.idnumbers import IdentityHit
from services.common.mail import ParsedMail
from services.common.orgconfig import Organisation

# Rules read at most this much text: cues sit near the top, and a megabyte of pasted log must not
# make one mail cost seconds. Identity numbers are still searched in the whole text (R2).
MAX_RULE_TEXT = 20_000
# The one-line fields rules read (subject, sender name, attachment names) are flattened to one
# line and cut to this: patterns anchored with `^` under re.MULTILINE cost a scan per line break,
# and an encoded subject with thousands of them cost seconds (issue #16, finding 1).
MAX_LINE_TEXT = 2_000
# Invisible characters that newsletters use as preheader padding, and soft hyphens.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\u034f]")


def normalise(text: str) -> str:
    """NFC (so that å is one character however it was encoded) without invisible characters."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text)).replace("\u00a0", " ")


def flatten(text: str) -> str:
    """One line with single spaces: mail bodies are hard-wrapped anywhere, cues must not care."""
    return " ".join(text.split())


def one_line(text: str) -> str:
    """A header-like field as rules read it: normalised, one line, at most `MAX_LINE_TEXT`."""
    return flatten(normalise(text[: MAX_LINE_TEXT * 4]))[:MAX_LINE_TEXT]


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _same_site(first: str, second: str) -> bool:
    return first == second or first.endswith("." + second) or second.endswith("." + first)


def _squash(domain: str) -> str:
    """A domain's letters and digits without its top-level part, accents folded, so that
    ha-kommune-portal.example and hå.kommune.login.example both contain hakommune."""
    folded = unicodedata.normalize("NFKD", domain.rpartition(".")[0]).encode("ascii", "ignore")
    return re.sub(r"[^a-z0-9]", "", folded.decode().lower())


def is_lookalike_domain(domain: str, own_domain: str) -> bool:
    """A domain that imitates the organisation's own without being it or one of its subdomains:
    a phishing tell no legitimate sender has."""
    own = own_domain.lower()
    if domain == own or domain.endswith("." + own):
        return False
    stem = _squash(own)
    return bool(stem) and stem in _squash(domain)


class SenderClassifier:
    """Tells the kinds of a sender: staff, lookalike, public body, company, automated or citizen."""

    def __init__(self, kinds: SenderKinds) -> None:
        def union(patterns: list[str]) -> re.Pattern[str]:
            return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)

        self._public_domains = union(kinds.public_body_domains)
        self._public_names = union(kinds.public_body_names)
        self._company_names = union(kinds.company_names)
        self._company_locals = union(kinds.company_local_parts)
        self._automated_locals = union(kinds.automated_local_parts)

    def kinds(self, address: str | None, name: str | None, org: Organisation) -> frozenset[str]:
        if not address:
            return frozenset({"citizen"})
        local, _, domain = address.lower().rpartition("@")
        found: set[SenderKind] = set()
        if org.is_staff_address(address):
            found.add("staff")
        elif is_lookalike_domain(domain, org.domain):
            # Never a public body, whatever the domain or display name claims.
            found.add("lookalike")
        elif self._public_domains.search(domain) or (name and self._public_names.search(name)):
            found.add("public_body")
        elif (name and self._company_names.search(name)) or self._company_locals.search(local):
            found.add("company")
        if self._automated_locals.search(local):
            found.add("automated")
        if not found:
            found.add("citizen")
        return frozenset(found)


def mailbox_kind(mailbox: str, org: Organisation) -> tuple[MailboxKind, str | None]:
    """Whether `mailbox` is the common mailbox, a department's or a person's, and its department."""
    department = org.department_for_address(mailbox)
    if department is None:
        return "personal", None
    if department == org.common_department:
        return "common", department
    return "department", department


@dataclass(frozen=True, slots=True)
class MailView:
    subject: str
    own_text: str  # subject and the sender's own words
    full_text: str  # subject and the whole body, quotes included
    # The rules' needles found in each (None when the text cannot be folded: prefilter.fold).
    own_needles: Needles | None
    full_needles: Needles | None
    sender_name: str
    sender_kinds: frozenset[str]
    headers: dict[str, tuple[str, ...]]
    mailbox: str
    mailbox_kind: MailboxKind
    mailbox_department: str | None
    is_reply: bool
    is_forward: bool
    reply_to_foreign: bool
    thread_class: MailClass | None
    attachment_names: tuple[str, ...]
    own_word_count: int
    identity_hits: tuple[IdentityHit, ...]


def build_view(
    mail: ParsedMail,
    mailbox: str,
    org: Organisation,
    thread_class: MailClass | None,
    senders: SenderClassifier,
    identity_finder: IdentityNumberFinder,
    needle_index: NeedleIndex,
) -> MailView:
    subject = one_line(mail.subject)
    body = normalise(mail.text)
    own = own_words(subject, body)
    full_text = f"{flatten(subject)}\n{flatten(body)}"
    rule_text = full_text[:MAX_RULE_TEXT]
    own_text = f"{flatten(subject)}\n{flatten(own)}"[:MAX_RULE_TEXT]
    own_needles = needle_index.find(fold(own_text))
    # Most mail quotes nothing: then both texts are one, and so are their needles.
    full_needles = own_needles if rule_text == own_text else needle_index.find(fold(rule_text))
    sender = mail.sender
    sender_domain = _domain(sender.address) if sender else ""
    reply_to_foreign = bool(sender_domain) and any(
        not _same_site(_domain(a.address), sender_domain) for a in mail.reply_to
    )
    kind, department = mailbox_kind(mailbox, org)
    return MailView(
        subject=subject,
        own_text=own_text,
        full_text=rule_text,
        own_needles=own_needles,
        full_needles=full_needles,
        sender_name=one_line(sender.name or "") if sender else "",
        sender_kinds=senders.kinds(
            sender.address if sender else None, sender.name if sender else None, org
        ),
        headers=dict(mail.headers),
        mailbox=mailbox.strip().lower(),
        mailbox_kind=kind,
        mailbox_department=department,
        is_reply=mail.in_reply_to is not None or is_reply_subject(subject),
        is_forward=is_forward_subject(subject),
        reply_to_foreign=reply_to_foreign,
        thread_class=thread_class,
        attachment_names=tuple(
            one_line(a.filename or a.content_type) for a in mail.attachments if not a.inline
        ),
        own_word_count=word_count(own),
        identity_hits=tuple(identity_finder.find(full_text)),
    )
