"""The pinned vocabularies of the public event contract.

Integrators match on these strings: a value may be added in a new schema version, never renamed.
"""

from __future__ import annotations

from enum import StrEnum

SCHEMA_VERSION = 1


class MailEvent(StrEnum):
    """The `<event>` part of `sakspost.mail.<event>.<department>`."""

    RECEIVED = "received"
    CLASSIFIED = "classified"
    ROUTED = "routed"
    ARCHIVED = "archived"
    COMPLETED = "completed"
    CHANGED = "changed"
    DELETED = "deleted"
    SENT = "sent"


class MailClass(StrEnum):
    """R9: every mail is arkivverdig, offisiell or privat."""

    ARKIVVERDIG = "arkivverdig"
    OFFISIELL = "offisiell"
    PRIVAT = "privat"


class SensitiveKind(StrEnum):
    """R2/R3: kinds of content that must not be sent (or quoted back) by e-mail."""

    FODSELSNUMMER = "fodselsnummer"
    DNUMMER = "dnummer"
    HNUMMER = "hnummer"
    HELSE = "helse"
    BARNEVERN = "barnevern"
    UNNTATT_OFFENTLIGHET = "unntatt_offentlighet"


class QuarantineReason(StrEnum):
    """Why a mail is a quarantined case: over a limit of what one mail may cost, or unreadable.

    The mail is still a case (its MIME kept, routed to a person, treated as possibly sensitive).
    """

    TOO_LARGE = "too_large"
    TOO_COMPLEX = "too_complex"
    UNPARSEABLE = "unparseable"


class Status(StrEnum):
    """A case's status in Sakspost (R11, R12)."""

    NY = "ny"
    TILDELT = "tildelt"
    FERDIG = "ferdig"


class AssignmentPolicy(StrEnum):
    """How the router chose (or did not choose) the assignee; recorded in `routed.policy`."""

    THREAD = "thread"
    RULE = "rule"
    LOAD = "load"
    MANUAL = "manual"
    OUTLOOK = "outlook"
    AUTO_PRIVAT = "auto_privat"
    SUPERVISOR = "supervisor"
    UNASSIGNED = "unassigned"


class CompletedVia(StrEnum):
    """Who or what set a case Ferdig (R12)."""

    ARCHIVE = "archive"
    OUTLOOK = "outlook"
    COMMAND = "command"
    AUTO_PRIVAT = "auto_privat"
    CONFIRMED_PRIVATE = "confirmed_private"


class DocumentRole(StrEnum):
    """The role of a document in an archived journalpost."""

    MAIN = "main"
    ORIGINAL = "original"
    ATTACHMENT = "attachment"


class DeletionKind(StrEnum):
    """How a mail left a shared mailbox (R13)."""

    MOVED_TO_DELETED_ITEMS = "moved_to_deleted_items"
    REMOVED = "removed"


class AlertKind(StrEnum):
    """The `<kind>` part of `sakspost.alert.<kind>.<department>` (R10)."""

    UNASSIGNED = "unassigned"
    OVERDUE = "overdue"
    ARCHIVE_FAILED = "archive_failed"
    DELETED = "deleted"
    LOW_CONFIDENCE = "low_confidence"
    DEAD_LETTER = "dead_letter"
    CLASS_CHANGED = "class_changed"
    SENSITIVE_OUTGOING = "sensitive_outgoing"
    REPLY_NOT_FROM_WEBSAK = "reply_not_from_websak"
    CONFIRM_PRIVATE = "confirm_private"
    NOTICE_UNDELIVERABLE = "notice_undeliverable"
    # A mail claimed to be Sakspost's own forward or notice without a valid seal.
    FORGED_MARKER = "forged_marker"
    # A different mail arrived with a Message-ID another case already has.
    IDENTITY_CLASH = "identity_clash"
    # A stored Graph link pointed away from Graph: discarded, never requested.
    GRAPH_LINK_REFUSED = "graph_link_refused"
    # One item of a periodic loop failed and was skipped, so the rest could go on (issue 16).
    SKIPPED = "skipped"
    QUARANTINED = "quarantined"
    # A shared mailbox's Graph subscription could not be created or renewed for a while (issue 17).
    SUBSCRIPTION_FAILED = "subscription_failed"
    # One instance of a service started too often within a short time (issue 17).
    SERVICE_RESTARTING = "service_restarting"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Channel(StrEnum):
    """Where a notice was delivered."""

    EMAIL = "email"
    TEAMS = "teams"
    WEBHOOK = "webhook"


class NoticeKind(StrEnum):
    """What a notice was about."""

    ASSIGNED = "assigned"
    ALERT = "alert"
    DIGEST = "digest"
