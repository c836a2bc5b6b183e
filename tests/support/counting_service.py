"""A minimal service on the common runtime, for the graceful-stop and crash tests.

It records each handled event id in a file (flushed to disk before the handler returns, so the
record survives a stop), which lets the test count how often each event was handled. With
`COUNTER_KILLED_BY` set, the event of that case kills the process instead (SIGKILL, as the
kernel's OOM killer would: no exception, no outcome).

NATS refuses anyone without a login, and a service may pull only its own durable consumers
(`permissions.py`): the counter runs as the classifier, the consumer of `received`, on the
classifier's durable as provisioned (the test runs no classifier).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from schemas.events import MailReceived
from schemas.subjects import mail_event_filter
from services.common.app import ServiceApp, prepare
from services.common.jetstream import ConsumerSpec
from services.common.orgconfig import Organisation
from services.common.settings import Settings

IDENTITY = "classifier"
RECEIVED = ConsumerSpec(IDENTITY, (mail_event_filter("received"),), description="test counter")


def build(
    settings: Settings, org: Organisation, record: Path, killed_by: str | None = None
) -> ServiceApp:
    service = ServiceApp(IDENTITY, "counts received events", settings, org)

    @service.consumer(RECEIVED)
    async def count(event: MailReceived) -> None:
        if event.case_id == killed_by:
            os.kill(os.getpid(), signal.SIGKILL)
        with record.open("a", encoding="utf-8") as handle:
            handle.write(event.event_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    return service


def main() -> None:
    settings, org = prepare(IDENTITY)
    record = Path(os.environ["COUNTER_RECORD"])
    asyncio.run(build(settings, org, record, os.environ.get("COUNTER_KILLED_BY")).serve())


if __name__ == "__main__":
    main()
