"""What keeps the read model current, and tells the open pages what to redraw.

- a KV watch on `case.*` of `sakspost_cases`: every record at start, then each update;
- an ordered consumer on `sakspost.alert.>` of the events stream, from `recent_alert_days` ago
  (named, so its creation is filtered to alerts: the overview's NATS grant allows no other
  filter and so reads no mail event);
- `Broadcast`: each open department page (`/live/<department>`) listens on a queue; a change tells
  it only which fragment to fetch again (`queue`, `alerts`), never any case data, so the stream
  carries nothing its viewer may not see; the fragment itself is drawn for the viewer.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timedelta

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue
from pydantic import ValidationError

from schemas import subjects
from schemas.events import Alert
from services.common.jetstream import EVENTS_STREAM
from services.common.presence import AWAY_PREFIX
from services.overview.readmodel import CASE_PREFIX, ReadModel

log = structlog.get_logger(__name__)

QUEUE = "queue"
ALERTS = "alerts"
# A page that does not read its events for this many is told to redraw everything once.
LISTENER_BACKLOG = 32


class Broadcast:
    """Per department, the queues of the pages listening."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Queue[str]]] = {}

    @contextlib.contextmanager
    def listen(self, department: str) -> Iterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=LISTENER_BACKLOG)
        self._listeners.setdefault(department, set()).add(queue)
        try:
            yield queue
        finally:
            self._listeners[department].discard(queue)

    def tell(self, departments: Iterable[str], fragment: str) -> None:
        for department in departments:
            for queue in self._listeners.get(department, ()):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(fragment)


class Feed:
    """Runs the watch and the alert consumer into `model`, telling `broadcast` of changes."""

    def __init__(self, model: ReadModel, broadcast: Broadcast) -> None:
        self.model = model
        self.broadcast = broadcast
        self.loaded = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._alerts_sub: JetStreamContext.PushSubscription | None = None

    async def start(self, cases: KeyValue, js: JetStreamContext, since: datetime) -> None:
        watcher = await cases.watch(CASE_PREFIX + "*")
        self._tasks.append(asyncio.create_task(self._watch(watcher)))
        # Who is away, as the router records it: a page is whole without it (shown as unknown).
        presence = await cases.watch(AWAY_PREFIX + "*")
        self._tasks.append(asyncio.create_task(self._watch_presence(presence)))
        self._alerts_sub = await js.subscribe(
            subjects.ALERT_ALL,
            stream=EVENTS_STREAM,
            ordered_consumer=True,
            config=api.ConsumerConfig(
                name=f"overview-alerts-{uuid.uuid4().hex}",
                deliver_policy=api.DeliverPolicy.BY_START_TIME,
                opt_start_time=since,
                inactive_threshold=60.0,
            ),
            cb=self._on_alert,
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._alerts_sub is not None:
            with contextlib.suppress(Exception):
                await self._alerts_sub.unsubscribe()

    async def _watch(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is None:  # every record present at start has been read
                self.loaded.set()
                continue
            value = None if entry.operation in ("DEL", "PURGE") else entry.value
            changed = self.model.apply(entry.key, value)
            if self.loaded.is_set():
                self.broadcast.tell(changed, QUEUE)

    async def _watch_presence(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is not None:
                value = None if entry.operation in ("DEL", "PURGE") else entry.value
                self.broadcast.tell(self.model.apply(entry.key, value), QUEUE)

    async def _on_alert(self, msg: Msg) -> None:
        try:
            alert = Alert.model_validate_json(msg.data)
        except ValidationError:
            log.warning("alert unreadable", subject=msg.subject)
            return
        self.broadcast.tell([self.model.add_alert(alert)], ALERTS)


def alert_start(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


async def events(queue: asyncio.Queue[str], keepalive_seconds: float) -> AsyncIterator[str]:
    """The server-sent events of one page: `refresh` naming a fragment, and comments that keep
    proxies from closing an idle stream."""
    while True:
        try:
            fragment = await asyncio.wait_for(queue.get(), keepalive_seconds)
        except TimeoutError:
            yield ": keepalive\n\n"
            continue
        yield f"event: refresh\ndata: {fragment}\n\n"
