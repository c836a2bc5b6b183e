"""The two kinds of failure a handler can signal, besides an ordinary exception (a bug).

- `TransientError` and the connection errors in `TRANSIENT_ERRORS`: a dependency is down, slow or
  throttling; the retry middleware retries for as long as it takes and never counts them.
- `PoisonMessage` (and a payload that does not validate as the handler's event): retrying cannot
  help; the message goes to the dead-letter stream at once, with an alert.
"""

from __future__ import annotations

import httpx
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError


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
    # A publish no stream answered: in a cluster, the stream is electing a new leader after a
    # node loss (seconds), so it is retried, never counted toward a dead letter.
    NoStreamResponseError,
)
