"""Every request to Microsoft Graph, counted by operation and status (`metrics.GRAPH_REQUESTS`).

The count is taken below msgraph-sdk's retry handler, at the transport: a request Graph throttles
(429) and kiota retries counts once per answer, so throttling is visible even when the retry
succeeds. The operation is the request's method and templated path, the name its span has
(`spanprivacy.templated_path`): what identifies a mailbox, a message or a subscription becomes
`{id}`, so a label never names a person and the set of labels stays small.
"""

from __future__ import annotations

import httpx

from services.common.metrics import GRAPH_REQUESTS, NO_ANSWER
from services.common.spanprivacy import templated_path


def graph_operation(method: str, path: str) -> str:
    """`GET /v1.0/users/{id}/messages/{id}/$value` for a read of one message's MIME."""
    return f"{method.upper()} {templated_path(path)}"


class CountedGraphTransport(httpx.AsyncBaseTransport):
    """Counts each answer (or its absence: status "0") of the transport it wraps."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = graph_operation(request.method, request.url.path)
        try:
            response = await self._inner.handle_async_request(request)
        except Exception:
            GRAPH_REQUESTS.labels(operation, NO_ANSWER).inc()
            raise
        GRAPH_REQUESTS.labels(operation, str(response.status_code)).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def count_graph_requests(client: httpx.AsyncClient) -> None:
    """Count every request `client` sends, over its own transport and any proxy's (before kiota
    wraps them in its middleware)."""
    # httpx has no public way to wrap a client's transports after it is made; kiota's own
    # factory does the same to put its middleware in front of them.
    client._transport = CountedGraphTransport(client._transport)
    client._mounts = {
        pattern: None if transport is None else CountedGraphTransport(transport)
        for pattern, transport in client._mounts.items()
    }
