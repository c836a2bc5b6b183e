"""Writing work into ingest's internal stream (the webhook and delta), deduplicated by version."""

from __future__ import annotations

import asyncio
import time

from faststream.nats import NatsBroker

from services.ingest.work import (
    LIFECYCLE_SUBJECT,
    MESSAGE_SUBJECT,
    WORK_STREAM,
    LifecycleWork,
    MessageWork,
    lifecycle_work_id,
    message_work_id,
)


class WorkQueue:
    def __init__(self, broker: NatsBroker, timeout: float, lifecycle_window: float) -> None:
        self._broker = broker
        self._timeout = timeout
        self._lifecycle_window = lifecycle_window

    async def _publish(self, data: bytes, subject: str, headers: dict[str, str]) -> None:
        await self._broker.publish(
            data, subject, stream=WORK_STREAM, headers=headers, timeout=self._timeout
        )

    async def put(self, items: list[MessageWork | LifecycleWork]) -> None:
        """Store every item; raises when JetStream did not confirm them all in time."""
        await asyncio.gather(*(self._put_one(item) for item in items))

    async def _put_one(self, item: MessageWork | LifecycleWork) -> None:
        headers = {"content-type": "application/json"}
        if isinstance(item, MessageWork):
            headers["Nats-Msg-Id"] = message_work_id(item)
            subject = MESSAGE_SUBJECT.format(department=item.department)
        else:
            headers["Nats-Msg-Id"] = lifecycle_work_id(item, time.time(), self._lifecycle_window)
            subject = LIFECYCLE_SUBJECT.format(department=item.department)
        await self._publish(item.model_dump_json().encode("utf-8"), subject, headers)
