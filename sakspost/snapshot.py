"""JetStream's stream snapshot and restore API, spoken over nats-py (which has no wrapper for it).

Snapshot: a request on `$JS.API.STREAM.SNAPSHOT.<stream>` names a deliver subject (our inbox); the
server answers with the stream's configuration and state, then sends the snapshot (s2-compressed
tar of the stream's files, consumers included) to the inbox in chunks. Each full chunk carries a
reply subject `$JS.SNAPSHOT.ACK.<stream>.<id>.<size>.<index>`: an empty message there is the flow
control that frees a slot of the server's window. The last, partial chunk has no reply subject;
an empty message ends the snapshot, with status 204 (or none) when it went well, else the error.

Restore: a request on `$JS.API.STREAM.RESTORE.<stream>` with the configuration and state (refused
when the stream exists) answers with an upload subject `$JS.SNAPSHOT.RESTORE.<stream>.<id>`; each
chunk is a request there, answered empty (or with an error), and an empty request ends the upload
and is answered, once the server has rebuilt the stream, with the new stream's info.

Every wait is bounded: the server gives up a snapshot whose acks stop for 5 s and a restore whose
chunks stop for 5 s; this side gives up when the server is silent for longer than its own limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import APIError

# 128 KiB: the server's default, and well under the cluster's 1 MB max_payload in either direction.
CHUNK_BYTES = 128 * 1024
# Chunks in flight before the server waits for acks: 32 chunks, far below nats-py's pending limit.
WINDOW_BYTES = 32 * CHUNK_BYTES
# The API answers at once (a snapshot streams after the answer); silence means a refused publish.
API_TIMEOUT_SECONDS = 10.0
# Between two chunks the server itself waits at most 5 s (acks, uploads); beyond this it is gone.
CHUNK_TIMEOUT_SECONDS = 30.0
# After the last chunk the server rebuilds the stream's indexes before it answers.
FINISH_TIMEOUT_SECONDS = 600.0

SNAPSHOT_API = "$JS.API.STREAM.SNAPSHOT."
RESTORE_API = "$JS.API.STREAM.RESTORE."
_PERMISSIONS_VIOLATION = "permissions violation"


class Failure(StrEnum):
    NO_ANSWER = "no_answer"
    DENIED = "denied"
    REFUSED = "refused"
    STALLED = "stalled"
    ABORTED = "aborted"


class JetStreamApiError(RuntimeError):
    """A JetStream API call failed; `failure` says how, `detail` gives the server's words."""

    def __init__(self, failure: Failure, subject: str, detail: str = "") -> None:
        super().__init__(f"{failure}: {subject} {detail}".strip())
        self.failure = failure
        self.subject = subject
        self.detail = detail


@dataclass(frozen=True)
class Described:
    """A stream as the server described it: its configuration and state, as JSON."""

    config: dict[str, Any]
    state: dict[str, Any]


async def snapshot_stream(
    connection: Client, stream: str, write: Callable[[bytes], None]
) -> Described:
    """Snapshot `stream` with its consumers, passing each chunk to `write` in order."""
    inbox = connection.new_inbox()
    # No callback: chunks wait in the subscription until read, so the acks follow the writes.
    chunks = await connection.subscribe(inbox)
    try:
        request = {
            "deliver_subject": inbox,
            "no_consumers": False,
            "chunk_size": CHUNK_BYTES,
            "window_size": WINDOW_BYTES,
        }
        subject = SNAPSHOT_API + stream
        described = await _api(connection, subject, request)
        while True:
            chunk = await _next(chunks, subject)
            if not chunk.data:
                _raise_for_status(chunk, subject)
                return Described(described["config"], described["state"])
            write(chunk.data)
            if chunk.reply:
                await connection.publish(chunk.reply, b"")
    finally:
        await chunks.unsubscribe()


async def restore_stream(
    connection: Client, config: dict[str, Any], state: dict[str, Any], chunks: Iterable[bytes]
) -> dict[str, Any]:
    """Restore a stream from its snapshot's `chunks`; returns the restored stream's state."""
    subject = RESTORE_API + str(config["name"])
    upload = (await _api(connection, subject, {"config": config, "state": state}))[
        "deliver_subject"
    ]
    for chunk in chunks:
        answer = await _request(connection, upload, chunk, CHUNK_TIMEOUT_SECONDS)
        if answer.data:  # an accepted chunk is answered empty: this is the server's error
            _json_answer(answer, upload)
    finished = _json_answer(await _request(connection, upload, b"", FINISH_TIMEOUT_SECONDS), upload)
    restored: dict[str, Any] = finished["state"]
    return restored


async def _api(connection: Client, subject: str, payload: dict[str, Any]) -> dict[str, Any]:
    answer = await _request(
        connection, subject, json.dumps(payload).encode("utf-8"), API_TIMEOUT_SECONDS
    )
    return _json_answer(answer, subject)


@contextmanager
def api_errors(connection: Client, subject: str) -> Iterator[None]:
    """nats-py's failures of a JetStream API call on `subject`, as `JetStreamApiError`s."""
    try:
        yield
    except NoRespondersError:
        raise JetStreamApiError(Failure.NO_ANSWER, subject) from None
    except NatsTimeoutError:
        # A publish the identity may not make is dropped by the server, which tells only the
        # connection (its last error): the request itself just times out.
        last = str(connection.last_error or "")
        if _PERMISSIONS_VIOLATION in last.lower():
            raise JetStreamApiError(Failure.DENIED, subject, last) from None
        raise JetStreamApiError(Failure.NO_ANSWER, subject) from None
    except APIError as error:
        raise JetStreamApiError(
            Failure.REFUSED, subject, _detail(error.description, error.err_code)
        ) from None


async def _request(connection: Client, subject: str, payload: bytes, wait_seconds: float) -> Msg:
    with api_errors(connection, subject):
        return await connection.request(subject, payload, timeout=wait_seconds)


def _json_answer(answer: Msg, subject: str) -> dict[str, Any]:
    try:
        body: dict[str, Any] = json.loads(answer.data)
    except ValueError:
        detail = answer.data[:200].decode("utf-8", "replace")
        raise JetStreamApiError(Failure.REFUSED, subject, detail) from None
    error = body.get("error")
    if error:
        detail = _detail(error.get("description"), error.get("err_code"))
        raise JetStreamApiError(Failure.REFUSED, subject, detail)
    return body


def _detail(description: object, err_code: object) -> str:
    return f"{description or ''} (err_code {err_code})"


async def _next(chunks: Subscription, subject: str) -> Msg:
    try:
        chunk = await chunks.next_msg(timeout=CHUNK_TIMEOUT_SECONDS)
    except NatsTimeoutError:
        raise JetStreamApiError(Failure.STALLED, subject) from None
    return chunk


def _raise_for_status(end: Msg, subject: str) -> None:
    headers = end.headers or {}
    status = headers.get("Status", "")
    if status and status != "204":
        detail = f"{status} {headers.get('Description', '')}".strip()
        raise JetStreamApiError(Failure.ABORTED, subject, detail)
