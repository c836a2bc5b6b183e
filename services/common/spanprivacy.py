"""No span leaves a process with a person's address, a message id, a query or a secret path.

Sakspost's URLs name people and mail (`/users/ola.nordmann@ha.kommune.no/messages/AAMkAG.../$value`,
a Teams webhook's secret path, a `$filter` query), and more than one library records them: the
httpx instrumentation, and msgraph-sdk's own middleware spans (kiota sets `url.full` whatever its
`include_euii_attributes` says). So the guard sits where every span passes, in front of the
exporter: URL attributes become scheme, host and a templated path (variable segments `{id}`, no
query), and any other text attribute, event attribute or status that holds an address is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import httpx
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status
from opentelemetry.util.types import Attributes, AttributeValue

TEMPLATE = "{id}"
REDACTED = "[redacted]"
# Attribute keys that hold a URL, a path or a query in the old and the stable HTTP conventions.
_URL_KEYS = frozenset({"http.url", "url.full", "http.uri"})
_PATH_KEYS = frozenset({"http.target", "url.path"})
_QUERY_KEYS = frozenset({"url.query"})
# A path segment is kept only when it is a fixed word of an API (`users`, `sendMail`, `$value`,
# `v1.0`, `journalposts`): lower-case first, letters only. Anything else (an address, an id, a
# number, a GUID, a Teams secret) becomes `{id}`.
_FIXED_SEGMENT = re.compile(r"^(?:\$?[a-z][A-Za-z]{0,39}|v\d+(?:\.\d+)?)$")
# Collections whose next segment is always a key, even when it looks like a word (a user name).
_KEYED_COLLECTIONS = frozenset({"users", "messages", "mailFolders", "subscriptions", "attachments"})
# Graph's functions on those collections, kept so that a delta round reads apart from a message.
_COLLECTION_FUNCTIONS = frozenset({"delta", "delta()"})
# An address in any text, also URL-encoded: such a value is dropped whole.
_ADDRESS = re.compile(r"[^\s/'\"<>]@|%40", re.IGNORECASE)


def templated_path(path: str) -> str:
    """The path with every variable segment replaced by `{id}`."""
    kept: list[str] = []
    previous = ""
    for segment in path.split("/"):
        if segment in _COLLECTION_FUNCTIONS:
            kept.append(segment)
        elif segment and (previous in _KEYED_COLLECTIONS or not _FIXED_SEGMENT.match(segment)):
            kept.append(TEMPLATE)
        else:
            kept.append(segment)
        previous = segment
    return "/".join(kept)


def templated_url(text: str) -> str:
    """Scheme, host and templated path of a URL, never its query or fragment."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        return REDACTED
    if not url.host:
        return templated_path(url.path)
    return f"{url.scheme}://{url.netloc.decode('ascii')}{templated_path(url.path)}"


def _private_value(key: str, value: AttributeValue) -> AttributeValue | None:
    if key in _QUERY_KEYS:
        return None
    if not isinstance(value, str):
        return value
    if key in _URL_KEYS:
        return templated_url(value)
    if key in _PATH_KEYS:
        return templated_path(value.split("?", 1)[0])
    return REDACTED if _ADDRESS.search(value) else value


def private_attributes(attributes: Attributes) -> dict[str, AttributeValue]:
    """`attributes` without a person's address, a message id or a query."""
    kept: dict[str, AttributeValue] = {}
    for key, value in (attributes or {}).items():
        private = _private_value(key, value)
        if private is not None:
            kept[key] = private
    return kept


def _private_status(status: Status) -> Status:
    description = status.description
    if description is not None and _ADDRESS.search(description):
        return Status(status.status_code, REDACTED)
    return status


def _private_events(events: Sequence[Event]) -> list[Event]:
    return [
        Event(event.name, private_attributes(event.attributes), event.timestamp) for event in events
    ]


def _private_name(name: str) -> str:
    return " ".join(
        templated_path(word) if _ADDRESS.search(word) else word for word in name.split(" ")
    )


def private_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of `span` as it may be exported."""
    return ReadableSpan(
        name=_private_name(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=private_attributes(span.attributes),
        events=_private_events(span.events),
        links=span.links,
        kind=span.kind,
        status=_private_status(span.status),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class PrivateSpanExporter(SpanExporter):
    """Exports through `inner` what `private_span` leaves of each span."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([private_span(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
