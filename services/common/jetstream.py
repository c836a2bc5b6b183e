"""The JetStream layout of Sakspost and its idempotent provisioning.

Everything Sakspost keeps lives here (docs/design.md, "State on NATS JetStream"):
- the event stream (`sakspost.mail.>`, `sakspost.alert.>`, `sakspost.notice.>`): file storage, no
  limits, `deny_delete` and `deny_purge` (R13), a duplicate window wider than the delta interval;
- the dead-letter stream, equally undeletable;
- KV buckets (one writer each) and the MIME Object Store, addressed by SHA-256;
- durable, explicit-ack pull consumers.

Provisioning may run any number of times, from every service at start and from `sakspost up`: it
creates what is missing, updates what may be updated, and migrates a durable consumer whose
configuration changed (nats-py silently keeps an existing durable's old configuration otherwise).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Literal

import structlog
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, BucketNotFoundError, NotFoundError, ServiceUnavailableError

from schemas import subjects
from services.common.settings import Settings
from services.common.starts import STARTS_BUCKET, STARTS_TTL_SECONDS

log = structlog.get_logger(__name__)

EVENTS_STREAM = "SAKSPOST"
DEAD_LETTER_STREAM = "SAKSPOST_DLQ"
DEAD_LETTER_PREFIX = "sakspost.deadletter"

CASES_BUCKET = "sakspost_cases"
RECEIPTS_BUCKET = "sakspost_receipts"
INGEST_BUCKET = "sakspost_ingest"
WRITEBACKS_BUCKET = "sakspost_writebacks"
NOTICES_BUCKET = "sakspost_notices"
FAILURES_BUCKET = "sakspost_failures"
# A record not written for this long expires (`failures.py` says what that costs).
FAILURES_TTL_SECONDS = 7 * 24 * 3600
MIME_BUCKET = "sakspost_mime"


META_LEADER_POLL_SECONDS = 0.5
OBJECT_DUPLICATE_WINDOW_SECONDS = 120.0


class ProvisioningError(RuntimeError):
    """JetStream holds something that provisioning cannot safely change; a human must decide."""


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer of the events stream, owned by one service."""

    durable: str
    filter_subjects: tuple[str, ...]
    ack_wait_seconds: float = 60.0
    max_ack_pending: int = 256
    stream: str = EVENTS_STREAM
    description: str = ""

    def config(self) -> api.ConsumerConfig:
        return api.ConsumerConfig(
            durable_name=self.durable,
            description=self.description or None,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            # Unlimited: the runtime itself bounds deterministic failures and turns them into
            # alerts, while transient failures are retried for as long as it takes.
            max_deliver=-1,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=self.max_ack_pending,
            filter_subjects=list(self.filter_subjects),
        )


@dataclass(frozen=True)
class BucketSpec:
    name: str
    history: int = 1
    ttl_seconds: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Layout:
    """Everything provisioning creates, derived from the settings."""

    streams: tuple[api.StreamConfig, ...]
    buckets: tuple[BucketSpec, ...]
    object_stores: tuple[str, ...]
    consumers: tuple[ConsumerSpec, ...] = field(default=())

    def with_consumers(self, *specs: ConsumerSpec) -> Layout:
        return replace(self, consumers=(*self.consumers, *specs))


def events_stream_config(settings: Settings) -> api.StreamConfig:
    return api.StreamConfig(
        name=EVENTS_STREAM,
        description="Sakspost mail events, alerts, notice and viewing audit: never deleted (R13)",
        subjects=[subjects.MAIL_ALL, subjects.ALERT_ALL, subjects.NOTICE_ALL, subjects.AUDIT_ALL],
        retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        num_replicas=settings.stream_replicas,
        max_msgs=-1,
        max_bytes=-1,
        max_age=0,
        discard=api.DiscardPolicy.NEW,
        duplicate_window=settings.duplicate_window_seconds,
        deny_delete=True,
        deny_purge=True,
        allow_rollup_hdrs=False,
    )


def dead_letter_stream_config(settings: Settings) -> api.StreamConfig:
    return api.StreamConfig(
        name=DEAD_LETTER_STREAM,
        description="Messages a consumer gave up on, with the reason; each also raised an alert",
        subjects=[f"{DEAD_LETTER_PREFIX}.>"],
        retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        num_replicas=settings.stream_replicas,
        max_age=0,
        duplicate_window=settings.duplicate_window_seconds,
        deny_delete=True,
        deny_purge=True,
        allow_rollup_hdrs=False,
    )


def base_layout(settings: Settings) -> Layout:
    return Layout(
        streams=(events_stream_config(settings), dead_letter_stream_config(settings)),
        buckets=(
            BucketSpec(CASES_BUCKET, history=16, description="Case records; router is the writer"),
            BucketSpec(RECEIPTS_BUCKET, history=8, description="Archive receipts; websak writes"),
            BucketSpec(INGEST_BUCKET, history=4, description="Subscriptions, delta links, lease"),
            BucketSpec(
                WRITEBACKS_BUCKET,
                history=4,
                description="The router's Outlook write-backs; router writes, ingest reads",
            ),
            BucketSpec(NOTICES_BUCKET, description="Notices sent; notifier writes"),
            BucketSpec(
                STARTS_BUCKET,
                ttl_seconds=STARTS_TTL_SECONDS,
                description="Each service instance's starts; each service writes its own, "
                "the notifier reads",
            ),
            BucketSpec(
                FAILURES_BUCKET,
                ttl_seconds=FAILURES_TTL_SECONDS,
                description="Attempts per consumer and message in flight: failures, crashes",
            ),
        ),
        object_stores=(MIME_BUCKET,),
    )


# Fields the server lets an existing stream change; the rest must match or provisioning refuses.
_EDITABLE_STREAM_FIELDS = ("subjects", "duplicate_window", "num_replicas", "description")
_FIXED_STREAM_FIELDS = ("retention", "storage")
# Protections the server lets a stream gain in place but never lose: the value that protects.
_PROTECTIONS = {"deny_delete": True, "deny_purge": True, "allow_rollup_hdrs": False}


async def ensure_stream(js: JetStreamContext, desired: api.StreamConfig) -> str:
    assert desired.name is not None
    try:
        info = await js.stream_info(desired.name)
    except NotFoundError:
        await js.add_stream(config=desired)
        return "created"
    current = info.config
    for name in _FIXED_STREAM_FIELDS:
        if getattr(current, name) != getattr(desired, name):
            raise ProvisioningError(
                f"stream {desired.name}: {name} is {getattr(current, name)!r}, expected "
                f"{getattr(desired, name)!r}; it cannot be changed in place (fix: move the data "
                "to a new stream with the right settings)"
            )
    for name, protecting in _PROTECTIONS.items():
        if getattr(current, name) == protecting and getattr(desired, name) != protecting:
            raise ProvisioningError(
                f"stream {desired.name}: {name} is {protecting!r} and the server never lets a "
                "stream lose that protection (fix: keep it in the layout)"
            )
    changed = [
        name
        for name in (*_EDITABLE_STREAM_FIELDS, *_PROTECTIONS)
        if _normalised(getattr(current, name)) != _normalised(getattr(desired, name))
    ]
    if not changed:
        return "unchanged"
    merged = replace(current, **{name: getattr(desired, name) for name in changed})
    await js.update_stream(config=merged)
    log.info("stream updated", stream=desired.name, fields=changed)
    return "updated"


def _normalised(value: object) -> object:
    if isinstance(value, list):
        return sorted(str(v) for v in value)
    if isinstance(value, float):
        return round(value, 3)
    return value


# JSConsumerCreateErr: the server refuses to change this field of an existing consumer in place.
_NOT_UPDATABLE_ERRORS = frozenset({10012})

_COMPARED_CONSUMER_FIELDS = (
    "filter_subjects",
    "ack_wait",
    "max_ack_pending",
    "max_deliver",
    "deliver_policy",
    "ack_policy",
)


def _consumer_differs(current: api.ConsumerConfig, desired: api.ConsumerConfig) -> list[str]:
    differing = []
    for name in _COMPARED_CONSUMER_FIELDS:
        have, want = getattr(current, name), getattr(desired, name)
        if name == "filter_subjects":
            have = have or ([current.filter_subject] if current.filter_subject else [])
        if name == "deliver_policy" and current.opt_start_seq:
            # A migrated consumer starts by sequence; that is the same intent as "all".
            continue
        if _normalised(have) != _normalised(want):
            differing.append(name)
    return differing


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> str:
    """Create, update or migrate a durable consumer so that its configuration is `spec`'s.

    Editable fields are updated in place. A change the server refuses in place (for example a
    different deliver policy) is migrated: the consumer is recreated to start right after the old
    one's acknowledgement floor, so acknowledged work is not redone and nothing is skipped.
    """
    desired = spec.config()
    try:
        info = await js.consumer_info(spec.stream, spec.durable)
    except NotFoundError:
        await js.add_consumer(spec.stream, config=desired)
        return "created"
    differing = _consumer_differs(info.config, desired)
    if not differing:
        return "unchanged"
    try:
        await js.add_consumer(spec.stream, config=desired)
    except APIError as error:
        if error.err_code not in _NOT_UPDATABLE_ERRORS:
            raise
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        await restart_consumer_after(js, spec.stream, desired, floor)
        log.warning(
            "consumer recreated", consumer=spec.durable, fields=differing, from_seq=floor + 1
        )
        return "recreated"
    log.info("consumer updated", consumer=spec.durable, fields=differing)
    return "updated"


async def restart_consumer_after(
    js: JetStreamContext, stream: str, config: api.ConsumerConfig, floor: int
) -> None:
    """Recreate the durable consumer `config` so that it delivers every message after `floor`.

    The durable keeps its name, so its service finds it again; what it had delivered and
    acknowledged beyond `floor` is delivered again (handlers are idempotent).
    """
    assert config.durable_name is not None
    restarted = replace(
        config, deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=floor + 1
    )
    await js.delete_consumer(stream, config.durable_name)
    await js.add_consumer(stream, config=restarted)


async def ensure_bucket(js: JetStreamContext, spec: BucketSpec, replicas: int) -> str:
    """Create the bucket, or give an existing one direct gets.

    Direct gets name the key in the request subject (`$JS.API.DIRECT.GET.KV_<bucket>.$KV.…`),
    which is what lets permissions confine an identity to some keys of a shared bucket
    (`permissions.py`); a plain message get names only the stream.
    """
    try:
        await js.key_value(spec.name)
    except BucketNotFoundError:
        await js.create_key_value(
            config=api.KeyValueConfig(
                bucket=spec.name,
                description=spec.description or None,
                history=spec.history,
                ttl=spec.ttl_seconds,
                storage=api.StorageType.FILE,
                replicas=replicas,
                direct=True,
            )
        )
        return "created"
    current = (await js.stream_info(f"KV_{spec.name}")).config
    if current.allow_direct:
        return "unchanged"
    await js.update_stream(config=replace(current, allow_direct=True))
    return "updated"


def object_store_config(name: str, replicas: int) -> api.StreamConfig:
    """An Object Store's stream, write-once: no purge, no delete, no roll-up (`mimestore.py`)."""
    return api.StreamConfig(
        name=f"OBJ_{name}",
        description="Raw MIME of every received mail, by SHA-256; never deleted (R13)",
        subjects=[f"$O.{name}.C.>", f"$O.{name}.M.>"],
        retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        num_replicas=replicas,
        max_age=0,
        discard=api.DiscardPolicy.NEW,
        # Nothing here is published with a message id; the server's own default, said explicitly
        # so that provisioning compares equal.
        duplicate_window=OBJECT_DUPLICATE_WINDOW_SECONDS,
        allow_direct=True,
        deny_delete=True,
        deny_purge=True,
        allow_rollup_hdrs=False,
    )


async def ensure_object_store(js: JetStreamContext, name: str, replicas: int) -> str:
    return await ensure_stream(js, object_store_config(name, replicas))


async def provision_when_ready(
    js: JetStreamContext, layout: Layout, replicas: int = 1, within_seconds: float = 60.0
) -> ProvisionResult:
    """`provision`, once JetStream answers: a cluster that has just started (or lost its leader)
    says "unavailable" until its nodes have elected a meta leader."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            return await provision(js, layout, replicas)
        # Before its meta leader is elected a cluster answers "unavailable", or not at all.
        except (ServiceUnavailableError, NatsTimeoutError):
            if time.monotonic() > deadline:
                raise
            log.info("JetStream not ready yet; provisioning waits")
            await asyncio.sleep(META_LEADER_POLL_SECONDS)


async def missing_consumers(js: JetStreamContext, specs: list[ConsumerSpec]) -> list[str]:
    """The durable consumers of `specs` that do not exist (yet)."""
    missing = []
    for spec in specs:
        try:
            await js.consumer_info(spec.stream, spec.durable)
        except NotFoundError:
            missing.append(spec.durable)
    return missing


ProvisionResult = dict[str, Literal["created", "updated", "recreated", "unchanged"] | str]


async def provision(js: JetStreamContext, layout: Layout, replicas: int = 1) -> ProvisionResult:
    """Bring JetStream to `layout`; returns what happened to each part."""
    result: ProvisionResult = {}
    for stream in layout.streams:
        result[f"stream:{stream.name}"] = await ensure_stream(js, stream)
    for bucket in layout.buckets:
        result[f"kv:{bucket.name}"] = await ensure_bucket(js, bucket, replicas)
    for store in layout.object_stores:
        result[f"objects:{store}"] = await ensure_object_store(js, store, replicas)
    for consumer in layout.consumers:
        result[f"consumer:{consumer.durable}"] = await ensure_consumer(js, consumer)
    return result
