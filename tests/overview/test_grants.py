"""Issue 19: the overview's NATS identity reads alerts and no mail event, and writes no case."""

from __future__ import annotations

import uuid

from nats.js import api

from services.common.jetstream import CASES_BUCKET, EVENTS_STREAM
from services.common.natsserver import NatsServer
from tests.support.violations import connect_watched


def _consumer(subject: str) -> api.ConsumerConfig:
    return api.ConsumerConfig(
        name=f"overview-probe-{uuid.uuid4().hex}",
        filter_subject=subject,
        deliver_subject=f"_INBOX_overview.{uuid.uuid4().hex}",
        ack_policy=api.AckPolicy.NONE,
        inactive_threshold=5.0,
    )


async def test_the_overview_reads_alerts_but_no_mail_and_writes_no_case(
    nats_server: NatsServer,
) -> None:
    connection, violations = await connect_watched(nats_server, "overview")
    try:
        js = connection.jetstream()
        alerts = js.add_consumer(EVENTS_STREAM, _consumer("sakspost.alert.>"))
        assert await violations.outcome(connection, alerts) == "allowed"
        mail = js.add_consumer(EVENTS_STREAM, _consumer("sakspost.mail.>"))
        assert (await violations.outcome(connection, mail)).startswith("permission:")
        everything = js.add_consumer(
            EVENTS_STREAM, api.ConsumerConfig(ack_policy=api.AckPolicy.NONE)
        )
        assert (await violations.outcome(connection, everything)).startswith("permission:")
        cases = await js.key_value(CASES_BUCKET)
        write = cases.put("case.forged", b"{}")
        assert (await violations.outcome(connection, write)).startswith("permission:")
    finally:
        await connection.close()
