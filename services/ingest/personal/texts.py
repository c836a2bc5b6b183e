"""What the owner of a personal mailbox is told, in nynorsk, bokmål or English (their language).

These texts go to the owner alone (the privacy note in docs/rules.md). A sensitive mail's subject
is never repeated (R2, R3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from schemas.vocab import MailClass, SensitiveKind
from services.common.categories import category_key
from services.common.language import Language, in_language

Phrases = Mapping[str, str]

PHRASES: Mapping[Language, Phrases] = {
    "nn": {
        "forward_note": "Vidaresendt av Sakspost frå postkassa til {owner}: e-posten kom dit "
        "ved ein feil (R9c). Den opphavlege e-posten ligg ved.",
        "forwarded_title": "E-post flytt til Sakspost {address}",
        "forwarded_body": "Ein e-post i innboksen din var tenestepost ({mail_class}) og er "
        "send vidare til Sakspost {address} med originalen vedlagd (R9c).\n\nEmne: {subject}\n\n"
        "Sakspost handsamar han no; svar frå Sakspost, ikkje frå eiga postkasse.",
        "sent_title": "Om ein e-post du sende",
        "sent_reply": "Du svarte på ein Sakspost-sak frå eiga postkasse. Tenestepost skal "
        "svarast frå Sakspost (R15).",
        "sent_sensitive": "E-posten inneheldt sensitive opplysningar ({kinds}). Slikt skal "
        "ikkje sendast med e-post (R2, R3).",
        "subject": "Emne: {subject}",
        "sweep_title": "Gjennomgang av postkassa di: {count} e-postar er tenestepost",
        "sweep_body": "Sakspost har lese gjennom postkassa di ({read} e-postar) før ho blir "
        "sletta (R16). {count} av dei er tenestepost: {archival} arkivverdige og {official} "
        "offisielle.",
        "sweep_forwarded": "Dei er sende vidare til Sakspost.",
        "sweep_keep": "Sjå til at dei kjem til Sakspost eller WebSak før postkassa blir sletta.",
        "arkivverdig": "arkivverdig",
        "offisiell": "offisiell",
        "category": "Til Sakspost",
        "ask_title": "Er denne e-posten tenestepost?",
        "ask_body": "Ein e-post i innboksen din kan vere tenestepost ({mail_class}), men Sakspost "
        "er ikkje sikker og har difor ikkje sendt han vidare (R9c). Berre du ser denne "
        "meldinga.\n\n{about}\n\nEr han tenestepost, gje han kategorien «{category}» i Outlook, "
        "så sender Sakspost han vidare med originalen vedlagd. Er han privat, treng du ikkje "
        "gjere noko.",
        "about_subject": "Emne: {subject}",
        "about_date": "Motteken: {date} (emnet blir ikkje gjenteke, for e-posten kan innehalde "
        "sensitive opplysningar)",
    },
    "nb": {
        "forward_note": "Videresendt av Sakspost fra postkassen til {owner}: e-posten kom dit "
        "ved en feil (R9c). Den opprinnelige e-posten ligger vedlagt.",
        "forwarded_title": "E-post flyttet til Sakspost {address}",
        "forwarded_body": "En e-post i innboksen din var tjenestepost ({mail_class}) og er "
        "sendt videre til Sakspost {address} med originalen vedlagt (R9c).\n\nEmne: {subject}\n\n"
        "Sakspost behandler den nå; svar fra Sakspost, ikke fra egen postkasse.",
        "sent_title": "Om en e-post du sendte",
        "sent_reply": "Du svarte på en Sakspost-sak fra egen postkasse. Tjenestepost skal "
        "besvares fra Sakspost (R15).",
        "sent_sensitive": "E-posten inneholdt sensitive opplysninger ({kinds}). Slikt skal "
        "ikke sendes med e-post (R2, R3).",
        "subject": "Emne: {subject}",
        "sweep_title": "Gjennomgang av postkassen din: {count} e-poster er tjenestepost",
        "sweep_body": "Sakspost har lest gjennom postkassen din ({read} e-poster) før den "
        "slettes (R16). {count} av dem er tjenestepost: {archival} arkivverdige og {official} "
        "offisielle.",
        "sweep_forwarded": "De er sendt videre til Sakspost.",
        "sweep_keep": "Sørg for at de kommer til Sakspost eller WebSak før postkassen slettes.",
        "arkivverdig": "arkivverdig",
        "offisiell": "offisiell",
        "category": "Til Sakspost",
        "ask_title": "Er denne e-posten tjenestepost?",
        "ask_body": "En e-post i innboksen din kan være tjenestepost ({mail_class}), men Sakspost "
        "er ikke sikker og har derfor ikke sendt den videre (R9c). Bare du ser denne "
        "meldingen.\n\n{about}\n\nEr den tjenestepost, gi den kategorien «{category}» i Outlook, "
        "så sender Sakspost den videre med originalen vedlagt. Er den privat, trenger du ikke "
        "gjøre noe.",
        "about_subject": "Emne: {subject}",
        "about_date": "Mottatt: {date} (emnet gjentas ikke, for e-posten kan inneholde sensitive "
        "opplysninger)",
    },
    "en": {
        "forward_note": "Forwarded by Sakspost from {owner}'s mailbox, where it arrived by "
        "mistake (R9c). The original mail is attached.",
        "forwarded_title": "Mail moved to Sakspost {address}",
        "forwarded_body": "A mail in your inbox was official mail ({mail_class}) and has been "
        "forwarded to Sakspost {address} with the original attached (R9c).\n\nSubject: "
        "{subject}\n\nSakspost handles it now; answer from Sakspost, not your own mailbox.",
        "sent_title": "About a mail you sent",
        "sent_reply": "You answered a Sakspost case from your own mailbox. Official mail is "
        "answered from Sakspost (R15).",
        "sent_sensitive": "The mail held sensitive information ({kinds}), which must not be "
        "sent by e-mail (R2, R3).",
        "subject": "Subject: {subject}",
        "sweep_title": "Review of your mailbox: {count} mails are official",
        "sweep_body": "Sakspost has read your mailbox ({read} mails) before it is deleted "
        "(R16). {count} of them are official: {archival} archival and {official} official.",
        "sweep_forwarded": "They have been forwarded to Sakspost.",
        "sweep_keep": "Make sure they reach Sakspost or WebSak before the mailbox is deleted.",
        "arkivverdig": "archival",
        "offisiell": "official",
        "category": "To Sakspost",
        "ask_title": "Is this mail official?",
        "ask_body": "A mail in your inbox may be official mail ({mail_class}), but Sakspost is not "
        "sure and has not forwarded it (R9c). Only you see this message.\n\n{about}\n\nIf it "
        "is official, give it the category “{category}” in Outlook and Sakspost forwards it with "
        "the original attached. If it is private, there is nothing to do.",
        "about_subject": "Subject: {subject}",
        "about_date": "Received: {date} (the subject is not repeated: the mail may hold "
        "sensitive information)",
    },
}


def _say(language: Language, key: str, **values: object) -> str:
    return in_language(PHRASES, language)[key].format(**values)


def forward_note(language: Language, owner: str) -> str:
    return _say(language, "forward_note", owner=owner)


def forwarded(
    language: Language, address: str, mail_class: MailClass, subject: str
) -> tuple[str, str]:
    title = _say(language, "forwarded_title", address=address)
    label = _say(language, mail_class.value)
    body = _say(language, "forwarded_body", address=address, mail_class=label, subject=subject)
    return title, body


def request_category(language: Language, configured: str | None) -> str:
    """The Outlook category with which the owner sends a mail to Sakspost, as they are told it."""
    return configured or _say(language, "category")


def request_categories(configured: str | None) -> frozenset[str]:
    """Every category name the watch honours (compared as Outlook does, ignoring case)."""
    names = {configured} if configured else {_say(language, "category") for language in PHRASES}
    return frozenset(category_key(name) for name in names)


def ask_owner(
    language: Language,
    mail_class: MailClass,
    category: str,
    subject: str,
    received: datetime | None,
    sensitive: bool,
) -> tuple[str, str]:
    """Maybe official (R9c): the owner decides. A sensitive mail is named by when it came
    (`received` in local time), not by its subject (R2, R3)."""
    if sensitive:
        when = received.strftime("%d.%m.%Y %H:%M") if received else "?"
        about = _say(language, "about_date", date=when)
    else:
        about = _say(language, "about_subject", subject=subject)
    label = _say(language, mail_class.value)
    body = _say(language, "ask_body", mail_class=label, about=about, category=category)
    return _say(language, "ask_title"), body


def sent_warning(
    language: Language, replied_to_case: bool, sensitive: Sequence[SensitiveKind], subject: str
) -> tuple[str, str]:
    lines: list[str] = []
    if replied_to_case:
        lines.append(_say(language, "sent_reply"))
    if sensitive:
        kinds = ", ".join(kind.value for kind in sensitive)
        lines.append(_say(language, "sent_sensitive", kinds=kinds))
    else:
        lines.append(_say(language, "subject", subject=subject))
    return _say(language, "sent_title"), "\n\n".join(lines)


def sweep_report(
    language: Language, read: int, found: Sequence[tuple[MailClass, str]], forwarded: bool
) -> tuple[str, str]:
    archival = sum(1 for mail_class, _ in found if mail_class == MailClass.ARKIVVERDIG)
    count = len(found)
    title = _say(language, "sweep_title", count=count)
    lines = [
        _say(
            language,
            "sweep_body",
            read=read,
            count=count,
            archival=archival,
            official=count - archival,
        )
    ]
    lines += [f"- {subject} ({_say(language, mail_class.value)})" for mail_class, subject in found]
    if found:
        lines.append(_say(language, "sweep_forwarded" if forwarded else "sweep_keep"))
    return title, "\n".join(lines)
