"""The words of every notice, in nynorsk (the default), bokmål and English.

Templates are plain format strings per language; the functions here only fill them in, so a text can
be changed without touching any logic. No function reads a mail body, and a sensitive mail's subject
is left out (R2, R3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from schemas.vocab import AlertKind, MailClass, SensitiveKind
from services.common.language import Language, in_language

Phrases = Mapping[str, str]

PHRASES: Mapping[Language, Phrases] = {
    "nn": {
        "assigned_title": "Tildelt deg: {subject}",
        "assigned_title_sensitive": "Ein e-post er tildelt deg (sensitivt innhald)",
        "assigned_intro": "Du er tildelt ein e-post i Sakspost {mailbox}. Handsam han der.",
        "subject": "Emne",
        "sender": "Avsendar",
        "sender_internal": "tilsett i kommunen",
        "sender_external": "ekstern avsendar",
        "sender_unknown": "ukjend avsendar",
        "class": "Klasse",
        "topics": "Tema",
        "due": "Frist",
        "due_at": "{date} kl. {time}",
        "open_link": "Opne e-posten i Outlook",
        "sensitive_warning": "Åtvaring: e-posten inneheld sensitive opplysningar ({kinds}). "
        "Ikkje send dei vidare og ikkje siter dei i svar på e-post.",
        "alert_title": "{kind}: {count} i {department}",
        "alert_intro": "Sakspost varslar tilsynet for {department}.",
        "operations_intro": "Sakspost varslar drifta om {department}.",
        "cases": "Saker",
        "and_more": "… og {count} til",
        "digest_title": "Dagleg oversikt for {department}, {date}",
        "digest_intro": "Slik står det til i Sakspost for {department}.",
        "open": "Opne saker",
        "unassigned": "Ikkje tildelte",
        "overdue": "Over fristen",
        "archived": "Arkiverte i WebSak sidan i går",
        "per_caseworker": "{name}: {open} opne, {overdue} over fristen",
        "nobody_open": "Ingen saksbehandlarar har opne saker.",
    },
    "nb": {
        "assigned_title": "Tildelt deg: {subject}",
        "assigned_title_sensitive": "En e-post er tildelt deg (sensitivt innhold)",
        "assigned_intro": "Du er tildelt en e-post i Sakspost {mailbox}. Behandle den der.",
        "subject": "Emne",
        "sender": "Avsender",
        "sender_internal": "ansatt i kommunen",
        "sender_external": "ekstern avsender",
        "sender_unknown": "ukjent avsender",
        "class": "Klasse",
        "topics": "Tema",
        "due": "Frist",
        "due_at": "{date} kl. {time}",
        "open_link": "Åpne e-posten i Outlook",
        "sensitive_warning": "Advarsel: e-posten inneholder sensitive opplysninger ({kinds}). "
        "Ikke send dem videre og ikke siter dem i svar på e-post.",
        "alert_title": "{kind}: {count} i {department}",
        "alert_intro": "Sakspost varsler tilsynet for {department}.",
        "operations_intro": "Sakspost varsler driften om {department}.",
        "cases": "Saker",
        "and_more": "… og {count} til",
        "digest_title": "Daglig oversikt for {department}, {date}",
        "digest_intro": "Slik står det til i Sakspost for {department}.",
        "open": "Åpne saker",
        "unassigned": "Ikke tildelte",
        "overdue": "Over fristen",
        "archived": "Arkivert i WebSak siden i går",
        "per_caseworker": "{name}: {open} åpne, {overdue} over fristen",
        "nobody_open": "Ingen saksbehandlere har åpne saker.",
    },
    "en": {
        "assigned_title": "Assigned to you: {subject}",
        "assigned_title_sensitive": "A mail was assigned to you (sensitive content)",
        "assigned_intro": "You have been assigned a mail in Sakspost {mailbox}. Handle it there.",
        "subject": "Subject",
        "sender": "Sender",
        "sender_internal": "municipal staff",
        "sender_external": "external sender",
        "sender_unknown": "unknown sender",
        "class": "Class",
        "topics": "Topics",
        "due": "Due",
        "due_at": "{date} at {time}",
        "open_link": "Open the mail in Outlook",
        "sensitive_warning": "Warning: the mail holds sensitive information ({kinds}). Do not pass "
        "it on and do not quote it in an e-mail reply.",
        "alert_title": "{kind}: {count} in {department}",
        "alert_intro": "Sakspost alerts the supervisors of {department}.",
        "operations_intro": "Sakspost alerts operations about {department}.",
        "cases": "Cases",
        "and_more": "… and {count} more",
        "digest_title": "Daily summary for {department}, {date}",
        "digest_intro": "This is where Sakspost stands for {department}.",
        "open": "Open cases",
        "unassigned": "Unassigned",
        "overdue": "Overdue",
        "archived": "Archived in WebSak since yesterday",
        "per_caseworker": "{name}: {open} open, {overdue} overdue",
        "nobody_open": "No caseworker has open cases.",
    },
}

ALERT_KIND_NAMES: Mapping[Language, Mapping[AlertKind, str]] = {
    "nn": {
        AlertKind.UNASSIGNED: "Ikkje tildelt",
        AlertKind.OVERDUE: "Over fristen",
        AlertKind.ARCHIVE_FAILED: "Arkivering feila",
        AlertKind.DELETED: "Sletta frå Sakspost",
        AlertKind.LOW_CONFIDENCE: "Usikker klassifisering",
        AlertKind.DEAD_LETTER: "Kunne ikkje handsamast",
        AlertKind.CLASS_CHANGED: "Klasse endra",
        AlertKind.SENSITIVE_OUTGOING: "Sensitivt innhald sendt ut",
        AlertKind.REPLY_NOT_FROM_WEBSAK: "Svar på arkivsak ikkje sendt frå WebSak",
        AlertKind.CONFIRM_PRIVATE: "Stadfest privat e-post",
        AlertKind.NOTICE_UNDELIVERABLE: "Varsel kom ikkje fram",
        AlertKind.FORGED_MARKER: "Forfalska Sakspost-merke",
        AlertKind.IDENTITY_CLASH: "To e-postar med same Message-ID",
        AlertKind.GRAPH_LINK_REFUSED: "Graph-lenkje til ein framand vert",
        AlertKind.SKIPPED: "Hoppa over",
        AlertKind.QUARANTINED: "E-post i karantene",
        AlertKind.SUBSCRIPTION_FAILED: "Abonnement på postboksen feila",
        AlertKind.SERVICE_RESTARTING: "Ei teneste startar om att gong på gong",
    },
    "nb": {
        AlertKind.UNASSIGNED: "Ikke tildelt",
        AlertKind.OVERDUE: "Over fristen",
        AlertKind.ARCHIVE_FAILED: "Arkivering feilet",
        AlertKind.DELETED: "Slettet fra Sakspost",
        AlertKind.LOW_CONFIDENCE: "Usikker klassifisering",
        AlertKind.DEAD_LETTER: "Kunne ikke behandles",
        AlertKind.CLASS_CHANGED: "Klasse endret",
        AlertKind.SENSITIVE_OUTGOING: "Sensitivt innhold sendt ut",
        AlertKind.REPLY_NOT_FROM_WEBSAK: "Svar på arkivsak ikke sendt fra WebSak",
        AlertKind.CONFIRM_PRIVATE: "Bekreft privat e-post",
        AlertKind.NOTICE_UNDELIVERABLE: "Varsel kom ikke fram",
        AlertKind.FORGED_MARKER: "Forfalsket Sakspost-merke",
        AlertKind.IDENTITY_CLASH: "To e-poster med samme Message-ID",
        AlertKind.GRAPH_LINK_REFUSED: "Graph-lenke til en fremmed vert",
        AlertKind.SKIPPED: "Hoppet over",
        AlertKind.QUARANTINED: "E-post i karantene",
        AlertKind.SUBSCRIPTION_FAILED: "Abonnement på postboksen feilet",
        AlertKind.SERVICE_RESTARTING: "En tjeneste starter på nytt gang på gang",
    },
    "en": {
        AlertKind.UNASSIGNED: "Unassigned",
        AlertKind.OVERDUE: "Overdue",
        AlertKind.ARCHIVE_FAILED: "Archiving failed",
        AlertKind.DELETED: "Deleted from Sakspost",
        AlertKind.LOW_CONFIDENCE: "Uncertain classification",
        AlertKind.DEAD_LETTER: "Could not be processed",
        AlertKind.CLASS_CHANGED: "Class changed",
        AlertKind.SENSITIVE_OUTGOING: "Sensitive content sent out",
        AlertKind.REPLY_NOT_FROM_WEBSAK: "Reply to an archive case not sent from WebSak",
        AlertKind.CONFIRM_PRIVATE: "Confirm private mail",
        AlertKind.NOTICE_UNDELIVERABLE: "Notice not delivered",
        AlertKind.FORGED_MARKER: "Forged Sakspost marker",
        AlertKind.IDENTITY_CLASH: "Two mails with the same Message-ID",
        AlertKind.GRAPH_LINK_REFUSED: "Graph link to a foreign host",
        AlertKind.SKIPPED: "Skipped",
        AlertKind.QUARANTINED: "Mail quarantined",
        AlertKind.SUBSCRIPTION_FAILED: "Mailbox subscription failed",
        AlertKind.SERVICE_RESTARTING: "A service keeps restarting",
    },
}

SENSITIVE_NAMES: Mapping[Language, Mapping[SensitiveKind, str]] = {
    "nn": {
        SensitiveKind.FODSELSNUMMER: "fødselsnummer",
        SensitiveKind.DNUMMER: "d-nummer",
        SensitiveKind.HNUMMER: "h-nummer",
        SensitiveKind.HELSE: "helseopplysningar",
        SensitiveKind.BARNEVERN: "barnevern",
        SensitiveKind.UNNTATT_OFFENTLIGHET: "unnateke offentlegheit",
    },
    "nb": {
        SensitiveKind.FODSELSNUMMER: "fødselsnummer",
        SensitiveKind.DNUMMER: "d-nummer",
        SensitiveKind.HNUMMER: "h-nummer",
        SensitiveKind.HELSE: "helseopplysninger",
        SensitiveKind.BARNEVERN: "barnevern",
        SensitiveKind.UNNTATT_OFFENTLIGHET: "unntatt offentlighet",
    },
    "en": {
        SensitiveKind.FODSELSNUMMER: "national identity number",
        SensitiveKind.DNUMMER: "D number",
        SensitiveKind.HNUMMER: "H number",
        SensitiveKind.HELSE: "health information",
        SensitiveKind.BARNEVERN: "child welfare",
        SensitiveKind.UNNTATT_OFFENTLIGHET: "exempt from public access",
    },
}


def phrase(language: Language, key: str, **values: object) -> str:
    return in_language(PHRASES, language)[key].format(**values)


def local_time(moment: datetime, timezone: str, language: Language) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return phrase(language, "due_at", date=local.strftime("%d.%m.%Y"), time=local.strftime("%H:%M"))


def sender_kind(address: str | None, domain: str, language: Language) -> str:
    """Who wrote, as a kind only: a citizen's address never goes into a notice."""
    if not address:
        return phrase(language, "sender_unknown")
    internal = address.strip().lower().endswith("@" + domain.lower())
    return phrase(language, "sender_internal" if internal else "sender_external")


def sensitive_warning(kinds: Sequence[SensitiveKind], language: Language) -> str:
    names = ", ".join(in_language(SENSITIVE_NAMES, language)[kind] for kind in kinds)
    return phrase(language, "sensitive_warning", kinds=names)


def class_name(mail_class: MailClass) -> str:
    # The class names are the routine's own Norwegian terms in every language (docs/rules.md).
    return mail_class.value


def alert_kind_name(kind: AlertKind, language: Language) -> str:
    return in_language(ALERT_KIND_NAMES, language)[kind]
