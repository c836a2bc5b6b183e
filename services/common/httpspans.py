"""Client spans for the HTTP calls Sakspost makes (Graph, WebSak, Teams and webhook notices).

OpenTelemetry's httpx instrumentation names a span by its method alone; the hook names it by its
operation instead: the caller's (`WebSak create_journalpost`) or the method and templated path
(`GET /v1.0/users/{id}/messages/{id}/$value`). What the span records of the URL is made private
before export (`spanprivacy.py`), as for every span.
"""

from __future__ import annotations

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.trace import Span

from services.common.spanprivacy import templated_path

# A request can name its operation in its httpx extensions (WebSak's client does).
OPERATION_EXTENSION = "sakspost_operation"


async def _name_by_operation(span: Span, request: RequestInfo) -> None:
    operation = (request.extensions or {}).get(OPERATION_EXTENSION)
    if isinstance(operation, str):
        span.update_name(operation)
    elif isinstance(request.url, httpx.URL):  # httpx hands its transports an httpx.URL
        span.update_name(f"{request.method.decode()} {templated_path(request.url.path)}")


def instrument(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """`client`, its requests traced as client spans of the current trace (in the global tracer
    provider, which `configure_tracing` sets)."""
    # The hook is a coroutine: the instrumentation calls only async hooks for an AsyncClient.
    HTTPXClientInstrumentor.instrument_client(client, request_hook=_name_by_operation)
    return client
