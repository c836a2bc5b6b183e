"""A minimal service on the common runtime, for the graceful-stop test.

It records each handled event id in a file (flushed to disk before the handler returns, so the
record survives a stop), which lets the test count how often each event was handled.

NATS refuses anyone without a login, and a service may pull only its own durable consumers
(`permissions.py`): the counter runs as the classifier, the consumer of `received`, on the
classifier's durable as provisioned (the test runs no classifier).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from schemas.events import MailReceived
from schemas.subjects import mail_event_filter
from services.common.app import ServiceApp, prepare
from services.common.jetstream import ConsumerSpec
from services.common.orgconfig import Organisation
from services.common.settings import Settings

IDENTITY = "classifier"
RECEIVED = ConsumerSpec(IDENTITY, (mail_event_filter("received"),), description="test counter")


def build(settings: Settings, org: Organisation, record: Path) -> ServiceApp:
    service = ServiceApp(IDENTITY, "counts received events", settings, org)

    @service.consumer(RECEIVED)
    async def count(event: MailReceived) -> None:
        with record.open("a", encoding="utf-8") as handle:
            handle.write(event.event_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    return service


def main() -> None:
    settings, org = prepare(IDENTITY)
    asyncio.run(build(settings, org, Path(os.environ["COUNTER_RECORD"])).serve())


if __name__ == "__main__":
    main()
