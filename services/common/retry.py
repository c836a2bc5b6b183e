"""The retry discipline every consumer follows, as one FastStream middleware.

- A transient failure (Graph or the archive down, throttled, NATS timing out) is retried with a
  growing delay for as long as it takes; it never counts toward a limit.
- A deterministic failure (a bug, a message this code can never handle) counts toward a bounded
  number of attempts, kept in KV (`failures.py`) so that restarts do not reset it; then the message
  is copied to the dead-letter stream with its reason and an alert is raised: never silence.
- An attempt that never ends raises nothing: a process killed for memory, or an event loop blocked
  past the ack wait. Every outcome other than a success is recorded in KV; JetStream numbers the
  deliveries, so a redelivery counts the earlier ones that left no outcome, and at the policy's
  limit the message is dead-lettered (`crashed`) instead of taking the service down again, so the
  consumer goes on with the rest. A message handled at its first delivery costs no KV operation.
- A payload that does not validate as the handler's event is poison: retrying cannot help, so it
  goes to the dead-letter stream at once, with an alert.
- A success is double-acknowledged (`ack_sync`), so acknowledged work is never redelivered.
- While a handler runs, the message is kept in progress, so a slow handler is not redelivered to
  another replica.

The middleware is installed on the router that holds a service's JetStream consumers; request-reply
commands (core NATS) never pass through it. Its collaborators (the publisher, the failure counter)
come from FastStream's context, where the service puts them when it connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import structlog
from faststream import BaseMiddleware
from faststream.exceptions import SubscriberNotFound
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from pydantic import ValidationError

from services.common.deadletter import DeadLetters
from services.common.delivery import Delivery, delivery_of
from services.common.errors import TRANSIENT_ERRORS, PoisonMessage, TransientError
from services.common.failures import Attempt, FailureCounter, attempt_key
from services.common.metrics import (
    EVENTS_HANDLED,
    HANDLER_SECONDS,
    OUTCOME_DEAD_LETTERED,
    OUTCOME_OK,
    OUTCOME_RETRIED,
    event_of,
)

log = structlog.get_logger(__name__)

# Where the service puts the retry collaborators in FastStream's context.
DEAD_LETTERS_KEY = "dead_letters"
FAILURES_KEY = "failure_counter"


def retry_delay(attempt: int, base: float, cap: float) -> float:
    """The delay before attempt `attempt + 1`: doubling from `base`, never above `cap`."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 1.0
    max_seconds: float = 300.0
    max_deterministic_failures: int = 5
    max_crashed_attempts: int = 3
    ack_wait_seconds: float = 60.0


class _CrashedTooOften(Exception):
    """Earlier attempts at this message were started and never ended; it is not tried again."""

    def __init__(self, crashed: int) -> None:
        super().__init__(
            f"crashed: {crashed} attempts started and never ended "
            "(the process died, or the ack wait ran out while it was busy)"
        )


class RetryDiscipline:
    """The middleware factory: `NatsRouter(middlewares=[RetryDiscipline(policy, service)])`;
    it also counts each delivery's outcome and times its handler (`metrics.py`)."""

    def __init__(self, policy: RetryPolicy, service: str) -> None:
        self.policy = policy
        self.service = service

    def __call__(self, msg: Any, /, *, context: Any) -> _Attempt:
        return _Attempt(msg, context=context, policy=self.policy, service=self.service)


class _Attempt(BaseMiddleware):
    """One delivery of one message: keep it in progress, then settle it by its outcome."""

    def __init__(self, msg: Any, /, *, context: Any, policy: RetryPolicy, service: str) -> None:
        super().__init__(msg, context=context)
        self._policy = policy
        self._service = service
        self._keep_alive: asyncio.Task[None] | None = None
        # What is known of the deliveries before this one, once counted (before the handler).
        self._attempt: Attempt | None = None
        self._started = time.monotonic()

    @property
    def _raw(self) -> Msg:
        assert isinstance(self.msg, Msg)
        return self.msg

    async def on_receive(self) -> None:
        self._keep_alive = asyncio.create_task(self._keep_in_progress())

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        """Handle the message, unless earlier deliveries crashed too often."""
        delivery = self._delivery()
        attempt = Attempt(attempt_key(delivery.consumer, delivery.message_key), delivery.attempt)
        self._attempt = await self._patiently(
            lambda: self._failures().begin(attempt, delivery.stored_age_s())
        )
        if self._attempt.crashed >= self._policy.max_crashed_attempts:
            raise _CrashedTooOften(self._attempt.crashed)
        return await call_next(msg)

    async def _patiently(self, operation: Callable[[], Awaitable[Attempt]]) -> Attempt:
        """The KV record's read or write, retried here while KV is unreachable for a moment (a
        restart, a leader election), the message not yet nacked and within its ack wait: a
        delivery nacked without its outcome recorded counts as a crash, so one per retry during
        an outage would soon dead-letter it. Up to half the ack wait; then the error goes on."""
        deadline = time.monotonic() + self._policy.ack_wait_seconds / 2
        delay = self._policy.base_seconds
        while True:
            try:
                return await operation()
            except TRANSIENT_ERRORS:
                if time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(2 * delay, self._policy.max_seconds)

    async def _keep_in_progress(self) -> None:
        interval = max(0.5, self._policy.ack_wait_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(NatsError):  # the next beat tries again
                await self._raw.in_progress()

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool:
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keep_alive
        if exc_val is None:
            await self._raw.ack_sync()
            await self._forget()
            self._count(OUTCOME_OK)
            return False
        if not isinstance(exc_val, Exception):
            # Cancellation and exit travel on, and JetStream redelivers after the ack wait; the
            # process lives to say so, which is an outcome, not a crash.
            if self._attempt is not None:
                with contextlib.suppress(Exception):
                    await self._failures().end(self._attempt)
            self._count(OUTCOME_RETRIED)
            return False
        self._count(await self._settle_failure(exc_val))
        return True

    def _count(self, outcome: str) -> None:
        event = event_of(self._raw.subject)
        EVENTS_HANDLED.labels(self._service, event, outcome).inc()
        HANDLER_SECONDS.labels(self._service, event).observe(time.monotonic() - self._started)

    def _failures(self) -> FailureCounter:
        failures: FailureCounter = self.context.get(FAILURES_KEY)
        return failures

    async def _forget(self) -> None:
        # Settled already: a record NATS could not delete now expires with the bucket's TTL.
        # Nothing read or written (a first delivery's success): no KV operation at all.
        if self._attempt is not None:
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await self._failures().forget(self._attempt)

    async def _give_up(self, delivery: Delivery, reason: str) -> None:
        dead_letters: DeadLetters = self.context.get(DEAD_LETTERS_KEY)
        await dead_letters.send(self._raw, delivery, reason)
        await self._raw.term()
        await self._forget()

    async def _settle_failure(self, error: Exception) -> str:
        """Dead-letter or schedule a retry; the outcome, as `metrics.py` counts it."""
        delivery = self._delivery()
        if isinstance(error, PoisonMessage | ValidationError | SubscriberNotFound):
            await self._give_up(delivery, _poison_reason(error))
            return OUTCOME_DEAD_LETTERED
        if isinstance(error, _CrashedTooOften):
            log.error(
                "crashed too often",
                consumer=delivery.consumer,
                message=delivery.message_key,
                attempt=delivery.attempt,
            )
            await self._give_up(delivery, str(error))
            return OUTCOME_DEAD_LETTERED
        # A failure before the earlier deliveries were counted (KV unreachable) never reached
        # the handler: retried like a transient one (it goes unrecorded: counted once, as a crash).
        if isinstance(error, TRANSIENT_ERRORS) or self._attempt is None:
            retry_after = error.retry_after if isinstance(error, TransientError) else None
            delay = retry_after or retry_delay(
                delivery.attempt, self._policy.base_seconds, self._policy.max_seconds
            )
            log.warning(
                "transient failure, will retry",
                consumer=delivery.consumer,
                message=delivery.message_key,
                attempt=delivery.attempt,
                delay_s=delay,
                error=type(error).__name__,
                reason=str(error)[:200],
            )
            # Recorded before the nack: a transient failure is an outcome and never a crash.
            # Only if KV is lost at this very moment does it go unrecorded (and count once).
            if self._attempt is not None:
                ending = self._attempt
                with contextlib.suppress(*TRANSIENT_ERRORS):
                    self._attempt = await self._patiently(lambda: self._failures().end(ending))
            await self._raw.nak(delay=delay)
            return OUTCOME_RETRIED
        self._attempt = await self._failures().fail(self._attempt)
        count = self._attempt.record.failures
        log.error(
            "handler failed",
            consumer=delivery.consumer,
            message=delivery.message_key,
            failures=count,
            error=type(error).__name__,
            exc_info=error,
        )
        if count >= self._policy.max_deterministic_failures:
            await self._give_up(delivery, f"{type(error).__name__} after {count} attempts")
            return OUTCOME_DEAD_LETTERED
        await self._raw.nak(
            delay=retry_delay(count, self._policy.base_seconds, self._policy.max_seconds)
        )
        return OUTCOME_RETRIED

    def _delivery(self) -> Delivery:
        subscriber = self.context.get_local("handler_")
        durable = getattr(getattr(subscriber, "config", None), "durable_name", None)
        return delivery_of(self._raw, str(durable or ""))


def _poison_reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        fields = sorted(
            {".".join(str(p) for p in e["loc"][1:]) or "(body)" for e in error.errors()}
        )
        return f"not a valid event: fields {fields}"
    return str(error) or type(error).__name__
