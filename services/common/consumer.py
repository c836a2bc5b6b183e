"""The retry discipline every consumer follows (DESIGN.md).

- A transient failure (Graph or the archive down, throttled, NATS timing out) is retried with a
  growing delay for as long as it takes; it never counts toward a limit.
- A deterministic failure (a bug, a message this code can never handle) counts toward a bounded
  number of attempts, kept in KV so that restarts do not reset it; then the message is copied to
  the dead-letter stream with its reason and an alert is raised — never silence.
- A payload that is not a valid event is poison: retrying cannot help, so it goes to the
  dead-letter stream at once, with an alert.
- A success is double-acknowledged (`ack_sync`), so acknowledged work is never redelivered.
- While a handler runs, the message is kept in progress, so a slow handler is not redelivered to
  another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import structlog
from faststream.nats.annotations import NatsMessage
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, ServiceUnavailableError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ValidationError

from schemas.events import Alert, utc_now
from schemas.identity import make_event_id
from schemas.subjects import parse_mail_subject
from schemas.vocab import AlertKind, Severity
from services.common.jetstream import DEAD_LETTER_PREFIX
from services.common.publisher import EventPublisher

log = structlog.get_logger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)


class TransientError(Exception):
    """A dependency is down, slow or throttling: retry later, for as long as it takes."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PoisonMessage(Exception):
    """The message can never be handled (not a valid event): dead-letter it at once."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    ConnectionError,
    TimeoutError,
    httpx.TransportError,
    NatsTimeoutError,
    NoRespondersError,
    ConnectionClosedError,
    ServiceUnavailableError,
)


def retry_delay(attempt: int, base: float, cap: float) -> float:
    """The delay before attempt `attempt + 1`: doubling from `base`, never above `cap`."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 1.0
    max_seconds: float = 300.0
    max_deterministic_failures: int = 5
    ack_wait_seconds: float = 60.0


class FailureCounter:
    """Deterministic failures per (consumer, stream sequence), in KV so restarts keep the count."""

    def __init__(self, kv: KeyValue, consumer: str) -> None:
        self._kv = kv
        self._consumer = consumer

    async def record(self, stream_seq: int) -> int:
        key = f"{self._consumer}.{stream_seq}"
        while True:
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError:
                try:
                    await self._kv.create(key, b"1")
                except KeyWrongLastSequenceError:
                    continue
                return 1
            count = int(entry.value or b"0") + 1
            try:
                await self._kv.update(key, str(count).encode(), last=entry.revision)
            except KeyWrongLastSequenceError:
                continue
            return count


def event_type(data: bytes) -> str | None:
    """The `type` field of a JSON event payload, or None when there is none to read."""
    try:
        payload: Any = json.loads(data)
    except ValueError:
        return None
    value = payload.get("type") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


def decode_event(model: type[ModelT], data: bytes) -> ModelT:
    try:
        return model.model_validate_json(data)
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "(body)" for e in error.errors()})
        raise PoisonMessage(f"not a valid {model.__name__}: fields {fields}") from None


class MessageProcessor:
    """Runs one handler on one JetStream message under the retry discipline."""

    def __init__(
        self,
        consumer: str,
        publisher: EventPublisher,
        failures: FailureCounter,
        policy: RetryPolicy,
        fallback_department: str,
    ) -> None:
        self.consumer = consumer
        self._publisher = publisher
        self._failures = failures
        self._policy = policy
        self._fallback_department = fallback_department

    async def _keep_in_progress(self, msg: NatsMessage) -> None:
        interval = max(0.5, self._policy.ack_wait_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            await msg.in_progress()

    async def run(self, msg: NatsMessage, handler: Callable[[], Awaitable[None]]) -> str:
        """Handle `msg`; returns the outcome (`done`, `retry`, `dead_letter`) for logs and tests."""
        metadata = msg.raw_message.metadata
        delivered = metadata.num_delivered
        stream_seq = metadata.sequence.stream
        keep_alive = asyncio.create_task(self._keep_in_progress(msg))
        try:
            await handler()
        except PoisonMessage as poison:
            await self._dead_letter(msg, str(poison))
            return "dead_letter"
        except TRANSIENT_ERRORS as error:
            retry_after = error.retry_after if isinstance(error, TransientError) else None
            delay = retry_after or retry_delay(
                delivered, self._policy.base_seconds, self._policy.max_seconds
            )
            log.warning(
                "transient failure, will retry",
                consumer=self.consumer,
                stream_seq=stream_seq,
                attempt=delivered,
                delay_s=delay,
                error=type(error).__name__,
                reason=str(error)[:200],
            )
            await msg.nack(delay=delay)
            return "retry"
        except Exception as error:
            failures = await self._failures.record(stream_seq)
            log.exception(
                "handler failed",
                consumer=self.consumer,
                stream_seq=stream_seq,
                failures=failures,
                error=type(error).__name__,
            )
            if failures >= self._policy.max_deterministic_failures:
                await self._dead_letter(msg, f"{type(error).__name__} after {failures} attempts")
                return "dead_letter"
            await msg.nack(
                delay=retry_delay(failures, self._policy.base_seconds, self._policy.max_seconds)
            )
            return "retry"
        finally:
            keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep_alive
        await msg.ack_sync()
        return "done"

    async def _dead_letter(self, msg: NatsMessage, reason: str) -> None:
        raw = msg.raw_message
        stream_seq = raw.metadata.sequence.stream
        letter_id = f"{self.consumer}:{stream_seq}"
        headers = {
            "Nats-Msg-Id": letter_id,
            "Sakspost-Original-Subject": raw.subject,
            "Sakspost-Original-Sequence": str(stream_seq),
            "Sakspost-Reason": reason[:500],
        }
        await self._publisher.publish_raw(
            f"{DEAD_LETTER_PREFIX}.{self.consumer}", raw.data, headers=headers
        )
        department, case_id = self._where(raw.subject, raw.data)
        alert = Alert(
            event_id=make_event_id("alert", case_id or "", "dead_letter", letter_id),
            case_id=case_id,
            occurred_at=utc_now(),
            department=department,
            kind=AlertKind.DEAD_LETTER,
            severity=Severity.CRITICAL,
            summary=f"Ei hending kunne ikkje handsamast av {self.consumer}",
            reason=reason[:500],
        )
        await self._publisher.publish(alert)
        log.error("dead-lettered", consumer=self.consumer, stream_seq=stream_seq, reason=reason)
        # Terminate so the server never redelivers it; the copy and the alert are durable.
        await msg.reject()

    def _where(self, subject: str, data: bytes) -> tuple[str, str | None]:
        """The department and case of a message, as far as they can be read from it."""
        department = self._fallback_department
        with contextlib.suppress(ValueError):
            department = parse_mail_subject(subject)[1]
        case_id: str | None = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            payload: Any = json.loads(data)
            value = payload.get("case_id")
            case_id = value if isinstance(value, str) else None
        return department, case_id
