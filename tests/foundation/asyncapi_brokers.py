"""Small FastStream brokers declared the way the services will be: durable pull consumers (one
subject, or several filter subjects with a discriminated union), publishers with `{department}`
placeholders, and the router's request-reply commands. Described only, never connected."""

from __future__ import annotations

from typing import Annotated

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from nats.js.api import ConsumerConfig
from pydantic import Field

from schemas.commands import CaseAssignRequest, CaseListReply, CaseListRequest, CaseReply
from schemas.events import Alert, MailArchived, MailClassified, MailReceived, MailRouted

STREAM = JStream("SAKSPOST", declare=False)


def classifier_broker() -> NatsBroker:
    broker = NatsBroker()

    @broker.subscriber(
        "sakspost.mail.received.*",
        stream=STREAM,
        durable="classifier",
        pull_sub=PullSub(batch_size=1),
        ack_policy=AckPolicy.MANUAL,
        title="classifier",
        description="Classify every received mail",
    )
    async def on_received(event: MailReceived) -> None:
        raise NotImplementedError

    broker.publisher(
        "sakspost.mail.classified.{department}",
        schema=MailClassified,
        title="mail.classified",
        description="One per received mail",
    )
    broker.publisher(
        "sakspost.alert.sensitive_outgoing.{department}",
        schema=Alert,
        title="alert.sensitive_outgoing",
        description="A sent mail holds what must not be e-mailed",
    )
    return broker


def router_broker() -> NatsBroker:
    broker = NatsBroker()

    @broker.subscriber(
        config=ConsumerConfig(
            filter_subjects=["sakspost.mail.classified.*", "sakspost.mail.archived.*"]
        ),
        stream=STREAM,
        durable="router",
        pull_sub=PullSub(batch_size=1),
        ack_policy=AckPolicy.MANUAL,
        title="router",
        description="Route classified mail; complete archived mail",
    )
    async def on_event(
        event: Annotated[MailClassified | MailArchived, Field(discriminator="type")],
    ) -> None:
        raise NotImplementedError

    @broker.subscriber("sakspost.cmd.assign", queue="router", title="cmd.assign")
    async def on_assign(request: CaseAssignRequest) -> CaseReply:
        raise NotImplementedError

    @broker.subscriber("sakspost.cmd.list", queue="router", title="cmd.list")
    async def on_list(request: CaseListRequest) -> CaseListReply:
        raise NotImplementedError

    broker.publisher(
        "sakspost.mail.routed.{department}",
        schema=MailRouted,
        title="mail.routed",
        description="Department and assignee",
    )
    broker.publisher(
        "sakspost.alert.{kind}.{department}",
        schema=Alert,
        title="alert",
        description="Supervisors must know",
    )
    return broker
