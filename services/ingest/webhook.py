"""The Graph webhook: `POST /graph/notifications` and `POST /graph/lifecycle`.

Graph gives an endpoint 3 s (stricter reading) before it counts it slow, and drops notifications
for endpoints that are often slow: the answer is given as soon as the accepted items are stored in
JetStream, before any Graph call. NATS down means 503, so Graph retries. Bad input gets a clear 4xx
and never an event; items that fail the checks are dropped with a log line, and the answer is 202
anyway (an attacker learns nothing about our subscriptions).
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from services.ingest.config import IngestSettings
from services.ingest.directory import SubscriptionDirectory
from services.ingest.notifications import (
    Accepted,
    Refused,
    is_json_content_type,
    judge,
    parse_batch,
)
from services.ingest.queue import WorkQueue
from services.ingest.work import LifecycleWork, MessageWork

log = structlog.get_logger(__name__)

NOTIFICATIONS_PATH = "/graph/notifications"
LIFECYCLE_PATH = "/graph/lifecycle"
MAX_VALIDATION_TOKEN = 4096


def _refusal(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused with 413 once it grows past `limit` (without reading the rest)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _work_of(accepted: Accepted) -> MessageWork | LifecycleWork:
    item = accepted.item
    department, mailbox = accepted.subscription.department, accepted.subscription.mailbox
    if item.lifecycle_event is not None:
        return LifecycleWork(
            department=department,
            mailbox=mailbox,
            subscription_id=item.subscription_id,
            event=item.lifecycle_event,
        )
    assert item.resource_data is not None  # judge() keeps change items with resource data only
    return MessageWork(
        department=department,
        mailbox=mailbox,
        message_id=item.resource_data.id,
        presence="gone" if item.change_type == "deleted" else "present",
        change_key=item.change_key,
    )


class Webhook:
    def __init__(
        self,
        ingest: IngestSettings,
        directory: SubscriptionDirectory,
        queue: WorkQueue,
    ) -> None:
        self._ingest = ingest
        self._directory = directory
        self._queue = queue

    async def receive(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            # Graph's handshake: the decoded token, as plain text, never reflected as HTML.
            if len(token) > MAX_VALIDATION_TOKEN:
                return _refusal(400, "validationToken too long")
            return PlainTextResponse(token)
        if not is_json_content_type(request.headers.get("content-type")):
            return _refusal(415, "Content-Type must be application/json")
        try:
            body = await read_limited(request, self._ingest.max_body_bytes)
            raw_items = parse_batch(body, self._ingest.max_json_depth)
        except Refused as refused:
            log.info("notification refused", status=refused.status, reason=refused.reason)
            return _refusal(refused.status, refused.reason)
        except ClientDisconnect:
            return Response(status_code=400)
        wanted = {str(item.get("subscriptionId")) for item in raw_items if isinstance(item, dict)}
        try:
            known = await self._directory.known(wanted)
        except Exception as error:  # an unknown id, and NATS down: the items cannot be judged
            log.error("subscriptions not read", error=type(error).__name__)
            return _refusal(503, "could not read the subscriptions; retry")
        judged = judge(raw_items, known, datetime.now(UTC))
        if judged.dropped:
            log.warning("notifications dropped", path=request.url.path, **judged.dropped)
        work = [_work_of(accepted) for accepted in judged.accepted]
        try:
            await self._queue.put(work)
        except Exception as error:  # NATS down or slow: Graph must retry, so never a 2xx
            log.error("notifications not stored", error=type(error).__name__, count=len(work))
            return _refusal(503, "could not store the notifications; retry")
        return Response(status_code=202)
