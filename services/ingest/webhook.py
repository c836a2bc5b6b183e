"""The Graph webhook: `POST /graph/notifications` and `POST /graph/lifecycle`.

Graph gives an endpoint 3 s (stricter reading) before it counts it slow, and drops notifications
for endpoints that are often slow: the answer is given as soon as the accepted items are stored in
JetStream, before any Graph call. NATS down means 503, so Graph retries. Bad input gets a clear 4xx
and never an event; items that fail the checks are dropped with a log line, and the answer is 202
anyway (an attacker learns nothing about our subscriptions).

Every webhook path, the personal one included, shares what bounds a caller's cost: the capped
validation handshake, the body limit, the cap on items, a budget for bodies held at once, and
parsing and judging in a worker thread, linear in the body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import structlog
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from services.common.tenantkeys import KeysUnavailable
from services.ingest.config import IngestSettings
from services.ingest.directory import SubscriptionDirectory
from services.ingest.notifications import (
    Accepted,
    RawBatch,
    Refused,
    count_judged,
    is_json_content_type,
    judge,
    parse_batch,
    subscription_ids,
)
from services.ingest.queue import WorkQueue
from services.ingest.rich import RichNotifications
from services.ingest.work import LifecycleWork, MessageWork

log = structlog.get_logger(__name__)
_tracer = trace.get_tracer(__name__)
# The span attribute saying how a webhook request ended: handshake, refused, unavailable, stored.
OUTCOME = "sakspost.webhook.outcome"

NOTIFICATIONS_PATH = "/graph/notifications"
LIFECYCLE_PATH = "/graph/lifecycle"
# Graph's validation token is an opaque string of a few hundred characters at most.
MAX_VALIDATION_TOKEN = 1024
# The echoed token is the caller's text: no browser may take it for HTML.
_NO_SNIFFING = {"X-Content-Type-Options": "nosniff"}


def _refusal(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


def handshake(request: Request) -> Response | None:
    """Graph's validation handshake, on every webhook path: the decoded token as plain text (never
    reflected as HTML), or 400 for a token longer than Graph's; None when it is no handshake."""
    token = request.query_params.get("validationToken")
    if token is None:
        return None
    if len(token) > MAX_VALIDATION_TOKEN:
        return PlainTextResponse("validationToken too long", 400, _NO_SNIFFING)
    return PlainTextResponse(token, headers=_NO_SNIFFING)


class BodyBudget:
    """Bytes of notification bodies held at once across the webhooks.

    A body is held from its first byte until it is parsed; one that does not fit is refused with
    503, which Graph retries, so a flood of large bodies costs a bounded amount of memory.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._held = 0

    @contextmanager
    def hold(self) -> Iterator[Callable[[int], None]]:
        taken = 0

        def take(size: int) -> None:
            nonlocal taken
            if self._held + size > self._limit:
                raise Refused(503, "too many notification bodies at once; retry")
            self._held += size
            taken += size

        try:
            yield take
        finally:
            self._held -= taken


async def read_limited(
    request: Request, limit: int, take: Callable[[int], None] = lambda size: None
) -> bytearray:
    """The body, refused with 413 once it grows past `limit` (without reading the rest); `take`
    is told each chunk's size before it is kept."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413, f"body larger than {limit} bytes")
    body = bytearray()  # grown in place: no second copy of the body at the end
    async for chunk in request.stream():
        if len(body) + len(chunk) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
        take(len(chunk))
        body += chunk
    return body


async def read_batch(request: Request, ingest: IngestSettings, budget: BodyBudget) -> RawBatch:
    """The raw items and tokens of a notification POST, or `Refused` with the status to answer.

    Parsing is linear in the body and runs in a worker thread, so the event loop keeps answering
    (and acknowledging) while a large body is read.
    """
    if not is_json_content_type(request.headers.get("content-type")):
        raise Refused(415, "Content-Type must be application/json")
    try:
        with budget.hold() as take:
            body = await read_limited(request, ingest.max_body_bytes, take)
            return await asyncio.to_thread(
                parse_batch, body, ingest.max_json_depth, ingest.max_batch_items
            )
    except ClientDisconnect:
        raise Refused(400, "client disconnected") from None


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
        snapshot=accepted.snapshot,
    )


class Webhook:
    def __init__(
        self,
        ingest: IngestSettings,
        directory: SubscriptionDirectory,
        queue: WorkQueue,
        budget: BodyBudget,
        rich: RichNotifications | None = None,
    ) -> None:
        self._ingest = ingest
        self._rich = rich
        self._directory = directory
        self._queue = queue
        self._budget = budget

    async def receive(self, request: Request) -> Response:
        # The root of a mail's trace: what ingest stores for the fetcher is published inside this
        # span, so FastStream carries its context on to every service that handles the mail. Graph
        # sends no trace context of its own, and a caller's is not trusted.
        with _tracer.start_as_current_span(
            f"POST {request.url.path}",
            context=Context(),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": "POST", "http.route": request.url.path},
        ) as span:
            response = await self._receive(request, span)
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    async def _receive(self, request: Request, span: Span) -> Response:
        answer = handshake(request)
        if answer is not None:
            span.set_attribute(OUTCOME, "handshake")
            return answer
        try:
            batch = await read_batch(request, self._ingest, self._budget)
        except Refused as refused:
            log.info("notification refused", status=refused.status, reason=refused.reason)
            span.set_attribute(OUTCOME, "refused")
            return _refusal(refused.status, refused.reason)
        raw_items = batch.items
        span.set_attribute("sakspost.webhook.items", len(raw_items))
        try:
            known = await self._directory.known(subscription_ids(raw_items))
        except Exception as error:  # an unknown id, and NATS down: the items cannot be judged
            log.error("subscriptions not read", error=type(error).__name__)
            span.set_attribute(OUTCOME, "unavailable")
            return _refusal(503, "could not read the subscriptions; retry")
        judged = await asyncio.to_thread(judge, raw_items, known, datetime.now(UTC))
        if self._rich is not None:
            try:
                judged = await self._rich.open(judged, batch.validation_tokens)
            except KeysUnavailable:  # Entra ID unreachable: Graph retries the batch later
                span.set_attribute(OUTCOME, "unavailable")
                return _refusal(503, "could not check the validation tokens; retry")
        count_judged(judged)
        if judged.dropped:
            log.warning("notifications dropped", path=request.url.path, **judged.dropped)
        span.set_attributes(
            {f"sakspost.webhook.dropped.{reason}": n for reason, n in judged.dropped.items()}
        )
        span.set_attribute("sakspost.webhook.accepted", len(judged.accepted))
        work = [_work_of(accepted) for accepted in judged.accepted]
        try:
            await self._queue.put(work)
        except Exception as error:  # NATS down or slow: Graph must retry, so never a 2xx
            log.error("notifications not stored", error=type(error).__name__, count=len(work))
            span.set_attribute(OUTCOME, "unavailable")
            return _refusal(503, "could not store the notifications; retry")
        span.set_attribute(OUTCOME, "stored")
        return Response(status_code=202)
