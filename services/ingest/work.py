"""Ingest's internal work stream: what the webhook and delta store for the fetcher.

Not part of the public contract. Accepted notifications are written here before Graph is answered,
so nothing acknowledged can be lost; a durable consumer (the fetcher) then reads Graph. The
`Nats-Msg-Id` of a work item names the message version (mailbox, id, change key), so a
notification delivered twice, or seen by the webhook and again by delta, is stored once.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from nats.js import api
from pydantic import Field

from schemas.events import ContractModel
from services.common.jetstream import ConsumerSpec
from services.common.settings import Settings
from services.ingest.snapshot import MessageSnapshot

WORK_STREAM = "SAKSPOST_INGEST"
WORK_PREFIX = "sakspost.internal.ingest"
MESSAGE_SUBJECT = WORK_PREFIX + ".message.{department}"
LIFECYCLE_SUBJECT = WORK_PREFIX + ".lifecycle.{department}"


def fetcher_spec(department: str) -> ConsumerSpec:
    """One fetcher consumer per mailbox: mailboxes are read in parallel, and a mailbox that
    Graph throttles holds up only its own queue (the filters are disjoint, as a work queue
    requires)."""
    return ConsumerSpec(
        f"ingest-fetcher-{department}",
        (f"{WORK_PREFIX}.*.{department}",),
        stream=WORK_STREAM,
        description=f"Reads {department}'s notified or delta-found messages from Graph",
    )


Presence = Literal["present", "gone"]


class MessageWork(ContractModel):
    """A message that was created, updated, moved or removed in a watched mailbox."""

    type: Literal["message"] = "message"
    department: str
    mailbox: str
    message_id: str = Field(min_length=1)
    presence: Presence = Field(description="gone: a deleted notification or a delta @removed")
    change_key: str | None = None
    source: Literal["webhook", "delta"] = "webhook"
    snapshot: MessageSnapshot | None = Field(
        default=None,
        description="The message's properties from the notification's resource data; "
        "none: the fetcher reads them from Graph",
    )


class LifecycleWork(ContractModel):
    """A lifecycle notification of one of our subscriptions."""

    type: Literal["lifecycle"] = "lifecycle"
    department: str
    mailbox: str
    subscription_id: str
    event: Literal["reauthorizationRequired", "subscriptionRemoved", "missed"]


def work_stream_config(settings: Settings) -> api.StreamConfig:
    """A work queue: an item leaves once the fetcher has acknowledged it."""
    return api.StreamConfig(
        name=WORK_STREAM,
        description="Ingest's accepted notifications and delta findings, waiting for the fetcher",
        subjects=[WORK_PREFIX + ".>"],
        retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE,
        num_replicas=settings.stream_replicas,
        max_age=0,
        duplicate_window=settings.duplicate_window_seconds,
        allow_rollup_hdrs=False,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:40]


def message_work_id(work: MessageWork) -> str:
    """The dedupe id of a work item: one per message version (webhook and delta agree)."""
    version = work.change_key or ""
    return "m-" + _digest(work.mailbox, work.message_id, work.presence, version)


def lifecycle_work_id(work: LifecycleWork, now: float, window_seconds: float) -> str:
    """The dedupe id of a lifecycle event: one per subscription, event and time window.

    Graph retries and an attacker replays; within one window (the delta interval, shorter than
    the work stream's duplicate window) a second event of the same kind would only repeat the
    work, and the regular delta round covers whatever came after the first.
    """
    window = int(now // window_seconds)
    return "l-" + _digest(work.subscription_id, work.event, str(window))


# One of each for ingest's AsyncAPI document (its internal work stream is documented too).
WORK_EXAMPLES: dict[str, ContractModel] = {
    "MessageWork": MessageWork(
        department="post",
        mailbox="post@ha.kommune.no",
        message_id="AAMkAGI2-post-1",
        presence="present",
        change_key="CQAAABYAAAB",
    ),
    "LifecycleWork": LifecycleWork(
        department="post",
        mailbox="post@ha.kommune.no",
        subscription_id="7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        event="missed",
    ),
}
