"""Client spans for the HTTP calls Sakspost makes (Graph, WebSak, Teams and webhook notices).

OpenTelemetry's httpx instrumentation records the full URL, and Sakspost's URLs name people and
mail: `/users/ola.nordmann@ha.kommune.no/messages/AAMkAG.../$value`, a Teams webhook's secret
path, a `$filter` query. The request hook below overwrites every URL attribute with a templated
one (scheme, host and a path whose variable segments are `{id}`, never a query) and names the span
by its operation, so no span attribute holds an address, a message id, a case id or a secret.
"""

from __future__ import annotations

import re

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.trace import Span

# A request can name its operation (WebSak's "create_journalpost") in its httpx extensions; the
# span is then named by it instead of its templated path.
OPERATION_EXTENSION = "sakspost_operation"
TEMPLATE = "{id}"
# Attribute keys that hold a URL or a part of one in the old and the stable HTTP conventions.
_URL_KEYS = ("http.url", "url.full")
_PATH_KEYS = ("http.target", "url.path")
_QUERY_KEYS = ("url.query",)
# A path segment is kept only when it is a fixed word of an API (`users`, `sendMail`, `$value`,
# `v1.0`, `journalposts`): lower-case first, letters only. Anything else (an address, an id, a
# number, a GUID, a Teams secret) becomes `{id}`.
_FIXED_SEGMENT = re.compile(r"^(?:\$?[a-z][A-Za-z]{0,39}|v\d+(?:\.\d+)?)$")
# Collections whose next segment is always a key, even when it looks like a word (a user name).
_KEYED_COLLECTIONS = frozenset({"users", "messages", "mailFolders", "subscriptions", "attachments"})


def templated_path(path: str) -> str:
    """The path with every variable segment replaced by `{id}`."""
    kept: list[str] = []
    previous = ""
    for segment in path.split("/"):
        if segment and (previous in _KEYED_COLLECTIONS or not _FIXED_SEGMENT.match(segment)):
            kept.append(TEMPLATE)
        else:
            kept.append(segment)
        previous = segment
    return "/".join(kept)


def span_name(method: str, url: httpx.URL, operation: str | None = None) -> str:
    """`operation` when the caller named it, else the method and templated path."""
    return operation or f"{method} {templated_path(url.path)}"


async def _request_hook(span: Span, request: RequestInfo) -> None:
    # httpx hands its transports an httpx.URL; the raw tuple form is only for other transports.
    if not isinstance(request.url, httpx.URL):
        return
    url = request.url
    method = request.method.decode() if isinstance(request.method, bytes) else str(request.method)
    path = templated_path(url.path)
    for key in _URL_KEYS:
        span.set_attribute(key, f"{url.scheme}://{url.netloc.decode()}{path}")
    for key in _PATH_KEYS:
        span.set_attribute(key, path)
    for key in _QUERY_KEYS:
        span.set_attribute(key, "")
    operation = (request.extensions or {}).get(OPERATION_EXTENSION)
    span.update_name(span_name(method, url, operation if isinstance(operation, str) else None))
    span.set_attribute("sakspost.http.route", path)


def instrument(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """`client`, its requests traced as client spans of the current trace, without personal data
    (spans go to the global tracer provider, which `configure_tracing` sets)."""
    # The hook is a coroutine: the instrumentation calls only async hooks for an AsyncClient.
    HTTPXClientInstrumentor.instrument_client(client, request_hook=_request_hook)
    return client
