"""Who may do what on NATS: the one declaration of every identity's permissions (least privilege).

Each Sakspost process connects as an identity named after it. What an identity may do is declared
here as grants in Sakspost's own terms (publishes these events, owns that bucket, reads the MIME
store, pulls from its own durable consumers, answers commands); `nats_permissions` turns them into
the subjects nats-server checks. The local configuration (`natsconfig.py`) and the Kubernetes NATS
values (`deploy/nats/values.yaml`, checked by a test) are both rendered from this module, so a
permission that works locally is the one production has.

Why some grants look the way they do:
- every identity has its own reply inbox (`_INBOX_<identity>.>`): with the shared default inbox,
  any identity could subscribe to `_INBOX.>` and read the replies others get (a KV read of ingest's
  webhook secrets, a case record);
- JetStream's API is reached by publishing requests to `$JS.API.…`; a grant names exactly the
  streams and consumers it needs, so no service can delete, purge or reconfigure a stream, create
  another's consumer, or read another's bucket;
- the MIME store is written once per object (its stream refuses a second message on a subject and
  any purge, `jetstream.py`), so its one writer cannot overwrite or mark an object deleted either;
- nothing but `admin` may use the stream-management API, and even `admin` may not delete or purge a
  stream or delete a message (R13: nothing is ever deleted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from schemas import subjects
from schemas.commands import Verb
from services.common.jetstream import (
    CASES_BUCKET,
    DEAD_LETTER_PREFIX,
    DEAD_LETTER_STREAM,
    EVENTS_STREAM,
    FAILURES_BUCKET,
    INGEST_BUCKET,
    MIME_BUCKET,
    NOTICES_BUCKET,
    RECEIPTS_BUCKET,
    WRITEBACKS_BUCKET,
)
from services.common.starts import STARTS_BUCKET

ACCOUNT = "SAKSPOST"
SYSTEM_ACCOUNT = "SYS"
SYSTEM_USER = "system"

# Streams outside the common layout, owned by one service each (their names are fixed here so the
# declaration does not import the services).
INGEST_WORK_STREAM = "SAKSPOST_INGEST"
INGEST_WORK_SUBJECTS = "sakspost.internal.ingest.>"
THREADS_BUCKET = "sakspost_threads"
CORRECTIONS_BUCKET = "sakspost_corrections"
OVERVIEW_BUCKET = "sakspost_overview"

# What no identity may ever do (R13), admin included.
NEVER = (
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    "$JS.API.STREAM.MSG.DELETE.>",
)


def inbox_prefix(identity: str) -> str:
    """The identity's own reply inbox; connections must use it (nats-py's `inbox_prefix`)."""
    return f"_INBOX_{identity}"


@dataclass(frozen=True)
class Grant:
    """Subjects an identity may publish and subscribe to, and whether it answers requests."""

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    deny_publish: tuple[str, ...] = ()
    answers_requests: bool = False

    def __add__(self, other: Grant) -> Grant:
        return Grant(
            publish=_unique(self.publish + other.publish),
            subscribe=_unique(self.subscribe + other.subscribe),
            deny_publish=_unique(self.deny_publish + other.deny_publish),
            answers_requests=self.answers_requests or other.answers_requests,
        )


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _combine(grants: Iterable[Grant]) -> Grant:
    total = Grant()
    for grant in grants:
        total = total + grant
    return total


# --- grants in Sakspost's terms ---------------------------------------------------------------


def stream_reader(stream: str) -> Grant:
    """Look a stream up and read single messages (KV gets, Object Store metadata)."""
    return Grant(
        publish=(
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.STREAM.MSG.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}.>",
        )
    )


def ephemeral_reader(stream: str) -> Grant:
    """Read a stream through short-lived ordered consumers (KV watches, Object Store chunks).

    nats-py finds an Object Store's stream by its subject (`STREAM.NAMES`) and answers the
    server's flow-control requests (`$JS.FC.…`); without either, every read times out.
    """
    return stream_reader(stream) + Grant(
        publish=(
            "$JS.API.STREAM.NAMES",
            f"$JS.API.CONSUMER.CREATE.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.DELETE.{stream}.>",
            f"$JS.API.CONSUMER.INFO.{stream}.>",
            f"$JS.FC.{stream}.>",
        )
    )


def kv_reader(bucket: str) -> Grant:
    """Read keys and watch them; list every live key through a short-lived pull consumer
    (`kvread.py`: nats-py's own listing can miss keys), which needs asking for its messages."""
    stream = f"KV_{bucket}"
    return ephemeral_reader(stream) + Grant(publish=(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",))


def kv_owner(bucket: str) -> Grant:
    """Read and write a bucket (its one writer)."""
    return kv_reader(bucket) + Grant(publish=(f"$KV.{bucket}.>",))


def kv_keys_reader(bucket: str, key_prefix: str) -> Grant:
    """Read only the keys under `key_prefix.` of a shared bucket."""
    stream = f"KV_{bucket}"
    return Grant(
        publish=(
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.DIRECT.GET.{stream}.$KV.{bucket}.{key_prefix}.>",
        )
    )


def kv_keys_owner(bucket: str, key_prefix: str) -> Grant:
    """Write the keys under `key_prefix.` of a shared bucket, and read only those."""
    return kv_keys_reader(bucket, key_prefix) + Grant(publish=(f"$KV.{bucket}.{key_prefix}.>",))


def alert_follower() -> Grant:
    """Follow the alerts in the events stream from any point, through its own short-lived
    consumers: named, filtered on `sakspost.alert.>` (the create request's subject says so, and
    nats-server checks it), pushed to its own inbox, unacknowledged and removed by the server when
    idle. Nothing else of the stream: no mail event, no other consumer's messages."""
    return Grant(
        publish=(
            f"$JS.API.STREAM.INFO.{EVENTS_STREAM}",
            f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.*.{subjects.ALERT_ALL}",
            f"$JS.API.CONSUMER.INFO.{EVENTS_STREAM}.*",
            f"$JS.FC.{EVENTS_STREAM}.>",
        ),
    )


def mime_reader() -> Grant:
    return ephemeral_reader(f"OBJ_{MIME_BUCKET}")


def mime_writer() -> Grant:
    """Add MIME objects; the store's stream refuses overwriting one (`jetstream.py`)."""
    return mime_reader() + Grant(publish=(f"$O.{MIME_BUCKET}.C.>", f"$O.{MIME_BUCKET}.M.>"))


def events_publisher(*subjects_: str) -> Grant:
    """Publish on these subjects (JetStream answers each publish on the inbox)."""
    return Grant(publish=subjects_)


def durable_consumer(stream: str, durable: str) -> Grant:
    """Pull from and acknowledge an existing durable consumer (`*` for all of a stream's)."""
    return Grant(
        publish=(
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
        )
    )


def commands_answerer(service: str) -> Grant:
    """Answer exactly the commands whose state `service` owns (`Verb.answerer`)."""
    return Grant(
        subscribe=tuple(verb.subject for verb in Verb if verb.answerer == service),
        answers_requests=True,
    )


def commands_sender() -> Grant:
    return Grant(publish=(subjects.COMMAND_ALL,))


def failure_counter(*durables: str) -> Grant:
    """Record the attempts at its own consumers' messages (keys `<durable>.<sequence>`)."""
    return _combine(kv_keys_owner(FAILURES_BUCKET, durable) for durable in durables)


def dead_letters(*durables: str) -> Grant:
    """Copy a given-up message to the dead-letter stream, and alert about it."""
    return Grant(
        publish=(
            *(f"{DEAD_LETTER_PREFIX}.{durable}" for durable in durables),
            "sakspost.alert.dead_letter.*",
        )
    )


def dead_letter_count() -> Grant:
    """Read how many messages the dead-letter stream holds (its info: no message, no change),
    for the `sakspost_dead_letters` metric."""
    return Grant(publish=(f"$JS.API.STREAM.INFO.{DEAD_LETTER_STREAM}",))


def start_recorder(service: str) -> Grant:
    """Record its own starts (keys `<service>.<instance>.<time>`), no other service's."""
    return kv_keys_owner(STARTS_BUCKET, service)


def skipped_alerts() -> Grant:
    """Alert that one item of a periodic loop was skipped (`services/common/isolation.py`)."""
    return events_publisher("sakspost.alert.skipped.*")


def consumes(stream: str, *durables: str) -> Grant:
    """Its own durable consumers, with the retry discipline's failure count and dead letters,
    and the common runtime's alert about a skipped item."""
    return (
        _combine(durable_consumer(stream, durable) for durable in durables)
        + failure_counter(*durables)
        + dead_letters(*durables)
        + skipped_alerts()
    )


# --- the identities ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    name: str
    description: str
    grant: Grant
    # The durable consumers of the events stream this identity owns: nobody else may pull,
    # acknowledge or replace them.
    durables: tuple[str, ...] = field(default=())


def _mail(event: str) -> str:
    return f"sakspost.mail.{event}.*"


def _alert(kind: str) -> str:
    return f"sakspost.alert.{kind}.*"


# Ingest owns its work stream outright: one durable per department (`ingest-fetcher-<key>`).
INGEST_DURABLES = ("*",)
CLASSIFIER_DURABLES = ("classifier", "classifier-sent", "classifier-corrections")
ROUTER_DURABLES = ("router",)
WEBSAK_DURABLES = ("websak", "websak-outgoing")
NOTIFIER_DURABLES = (
    "notifier-routed",
    "notifier-completed",
    "notifier-archived",
    "notifier-alerts",
)

_SERVICES: tuple[Identity, ...] = (
    Identity(
        "ingest",
        "Reads the mailboxes; stores MIME; publishes received, changed, deleted and sent; "
        "answers the personal opt-in command",
        consumes(INGEST_WORK_STREAM, *INGEST_DURABLES)
        + events_publisher(
            _mail("received"),
            _mail("changed"),
            _mail("deleted"),
            _mail("sent"),
            _alert("forged_marker"),
            _alert("identity_clash"),
            _alert("graph_link_refused"),
            _alert("subscription_failed"),
            "sakspost.internal.ingest.>",
        )
        + start_recorder("ingest")
        + kv_owner(INGEST_BUCKET)
        + kv_reader(WRITEBACKS_BUCKET)
        + mime_writer()
        + commands_answerer("ingest"),
    ),
    Identity(
        "classifier",
        "Classifies mail; remembers threads and corrections",
        consumes(EVENTS_STREAM, *CLASSIFIER_DURABLES)
        + events_publisher(
            _mail("classified"),
            _alert("reply_not_from_websak"),
            _alert("sensitive_outgoing"),
            _alert("quarantined"),
            _alert("forged_marker"),
        )
        + start_recorder("classifier")
        + kv_owner(THREADS_BUCKET)
        + kv_owner(CORRECTIONS_BUCKET)
        + mime_reader(),
        CLASSIFIER_DURABLES,
    ),
    Identity(
        "router",
        "Assigns and follows each case; answers the commands; writes back to Outlook",
        consumes(EVENTS_STREAM, *ROUTER_DURABLES)
        + events_publisher(
            _mail("routed"), _mail("completed"), _mail("classified"), "sakspost.alert.*.*"
        )
        + start_recorder("router")
        + kv_owner(CASES_BUCKET)
        + kv_owner(WRITEBACKS_BUCKET)
        + commands_answerer("router"),
        ROUTER_DURABLES,
    ),
    Identity(
        "websak",
        "Files archival mail and replies in WebSak; answers the archive's commands",
        consumes(EVENTS_STREAM, *WEBSAK_DURABLES)
        + events_publisher(_mail("archived"), _alert("archive_failed"))
        + start_recorder("websak")
        + kv_owner(RECEIPTS_BUCKET)
        + mime_reader()
        + commands_answerer("websak"),
        WEBSAK_DURABLES,
    ),
    Identity(
        "notifier",
        "Tells assignees, supervisors and operations",
        consumes(EVENTS_STREAM, *NOTIFIER_DURABLES)
        + events_publisher(
            "sakspost.notice.sent.*",
            _alert("notice_undeliverable"),
            _alert("service_restarting"),
        )
        + start_recorder("notifier")
        + kv_reader(STARTS_BUCKET)
        + kv_owner(NOTICES_BUCKET)
        + dead_letter_count(),
        NOTIFIER_DURABLES,
    ),
)


def _services_durables(stream: str) -> tuple[str, ...]:
    """Every consumer-API subject of the services' durables: denied where a wildcard allows."""
    denied: list[str] = []
    for identity in _SERVICES:
        for durable in identity.durables:
            denied += [
                f"$JS.API.CONSUMER.CREATE.{stream}.{durable}",
                f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.>",
                f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
                f"$JS.API.CONSUMER.DELETE.{stream}.{durable}",
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
                f"$JS.ACK.{stream}.{durable}.>",
            ]
    return tuple(denied)


def _others_failures(who: Identity) -> tuple[str, ...]:
    """Other services' failure counts and dead letters: denied where a wildcard would allow them
    (ingest's consumers are all of its own stream, `*`)."""
    return tuple(
        subject
        for other in _SERVICES
        if other.name != who.name
        for durable in other.durables
        for subject in (f"$KV.{FAILURES_BUCKET}.{durable}.>", f"{DEAD_LETTER_PREFIX}.{durable}")
    )


# The supervisors' web pages (issue 19): they read cases and alerts, and change nothing
# themselves: every action is a command carrying the signed-in person's token, which the owning
# service verifies.
OVERVIEW = Identity(
    "overview",
    "The supervisors' web page: sends commands with the signed-in person's token, watches the "
    "cases, follows alerts, keeps its sessions, records who viewed a case",
    commands_sender()
    + kv_reader(CASES_BUCKET)
    + alert_follower()
    # No consumer of the services' names, even filtered on alerts.
    + Grant(deny_publish=_services_durables(EVENTS_STREAM))
    + kv_owner(OVERVIEW_BUCKET)
    # The owner's own opt-in on the personal page: read only (ingest answers the decision).
    + kv_keys_reader(INGEST_BUCKET, "personal.optin")
    + events_publisher(f"{subjects.PREFIX}.audit.case_viewed.*")
    + start_recorder("overview"),
)

_SERVICES = (*_SERVICES, OVERVIEW)
SERVICE_NAMES = tuple(identity.name for identity in _SERVICES)


ADMIN = Identity(
    "admin",
    "Provisions streams, buckets and consumers; backs up and restores; may inspect everything",
    Grant(
        publish=("$JS.API.>", "$JS.SNAPSHOT.>", "$JS.FC.>", "$JS.ACK.>"),
        subscribe=(">",),
        deny_publish=NEVER,
    ),
)

OPERATOR = Identity(
    "operator",
    "Runs `sakspost status`, `cases` and `personal`: stream and consumer state, dead letters, "
    "commands (each carrying its person's or operator's token)",
    Grant(
        publish=(
            "$JS.API.INFO",
            "$JS.API.STREAM.NAMES",
            "$JS.API.STREAM.LIST",
            "$JS.API.STREAM.INFO.*",
            "$JS.API.CONSUMER.NAMES.*",
            "$JS.API.CONSUMER.LIST.*",
            "$JS.API.CONSUMER.INFO.*.*",
        )
    )
    + ephemeral_reader(DEAD_LETTER_STREAM)
    + kv_reader(CASES_BUCKET)
    + commands_sender()
    # Who opted a personal mailbox in or out (R15), for `sakspost personal list`: read only (the
    # owner decides by command, answered by ingest); not the subscriptions beside it, whose
    # clientState secrets are ingest's alone.
    + kv_keys_reader(INGEST_BUCKET, "personal.optin"),
)

INTEGRATOR = Identity(
    "integrator",
    "Reads the mail, alert and notice events through its own consumers (named `integrator-…`)",
    Grant(
        publish=(
            f"$JS.API.STREAM.INFO.{EVENTS_STREAM}",
            f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}",
            f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{EVENTS_STREAM}.*",
            f"$JS.API.CONSUMER.INFO.{EVENTS_STREAM}.*",
            f"$JS.API.CONSUMER.DELETE.{EVENTS_STREAM}.*",
            f"$JS.API.CONSUMER.MSG.NEXT.{EVENTS_STREAM}.*",
            f"$JS.ACK.{EVENTS_STREAM}.>",
            f"$JS.FC.{EVENTS_STREAM}.>",
        ),
        subscribe=(subjects.MAIL_ALL, subjects.ALERT_ALL, subjects.NOTICE_ALL),
        deny_publish=_services_durables(EVENTS_STREAM),
    ),
)

IDENTITIES: tuple[Identity, ...] = (ADMIN, OPERATOR, INTEGRATOR, *_SERVICES)


def identity(name: str) -> Identity:
    for candidate in IDENTITIES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no NATS identity {name!r}; known: {', '.join(i.name for i in IDENTITIES)}")


def nats_permissions(who: Identity) -> dict[str, Any]:
    """The identity's `permissions` block as nats-server reads it."""
    grant = who.grant
    publish: dict[str, Any] = {"allow": list(grant.publish)}
    publish["deny"] = list(_unique((*grant.deny_publish, *NEVER, *_others_failures(who))))
    subscribe = _unique((f"{inbox_prefix(who.name)}.>", *grant.subscribe))
    permissions: dict[str, Any] = {"publish": publish, "subscribe": {"allow": list(subscribe)}}
    if grant.answers_requests:
        # Replies go to the requester's inbox, whatever its prefix: only as answers, once each.
        permissions["allow_responses"] = {"max": 1}
    return permissions


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` one or more."""
    wanted, given = pattern.split("."), subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(given) > index
        if index >= len(given) or part not in ("*", given[index]):
            return False
    return len(wanted) == len(given)


def may_publish(who: Identity, subject: str) -> bool:
    """What nats-server decides for a publish by `who` (deny wins over allow)."""
    permissions = nats_permissions(who)["publish"]
    allowed = any(subject_matches(p, subject) for p in permissions["allow"])
    return allowed and not any(subject_matches(p, subject) for p in permissions["deny"])


def publisher_of(subject: str) -> Identity:
    """The service whose events these are (the first, where two may publish them)."""
    for candidate in _SERVICES:
        if may_publish(candidate, subject):
            return candidate
    raise KeyError(f"no service may publish {subject}")
