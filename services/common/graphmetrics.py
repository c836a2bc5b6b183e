"""Every request to Microsoft Graph, counted by operation and status (`metrics.GRAPH_REQUESTS`).

The count is taken below msgraph-sdk's retry handler, at the transport: a request Graph throttles
(429) and kiota retries counts once per answer, so throttling is visible even when the retry
succeeds. The operation is the request's method and the fixed words of its path; what identifies a
mailbox, a message or a subscription (an address, an id) is left out, so a label never names a
person and the set of labels stays small.
"""

from __future__ import annotations

import re

import httpx

from services.common.metrics import GRAPH_REQUESTS, NO_ANSWER

# A word of Graph's URL grammar (`users`, `messages`, `$value`, `microsoft.graph.delta()`,
# `sendMail`); ids and addresses are longer, or hold digits, `@`, `=` or `-`.
_PATH_WORD = re.compile(r"\$?[A-Za-z][A-Za-z.()]{0,39}")


def graph_operation(method: str, path: str, root_path: str = "/v1.0") -> str:
    """`GET users.messages.$value` for `GET /v1.0/users/ola@x.no/messages/AAMk…/$value`."""
    if path.startswith(root_path.rstrip("/") + "/"):
        path = path[len(root_path.rstrip("/")) :]
    words = [segment for segment in path.split("/") if _PATH_WORD.fullmatch(segment)]
    return f"{method.upper()} {'.'.join(words) or '/'}"


class CountedGraphTransport(httpx.AsyncBaseTransport):
    """Counts each answer (or its absence: status "0") of the transport it wraps."""

    def __init__(self, inner: httpx.AsyncBaseTransport, root_path: str) -> None:
        self._inner = inner
        self._root_path = root_path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = graph_operation(request.method, request.url.path, self._root_path)
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
    root_path = client.base_url.path
    # httpx has no public way to wrap a client's transports after it is made; kiota's own
    # factory does the same to put its middleware in front of them.
    client._transport = CountedGraphTransport(client._transport, root_path)
    client._mounts = {
        pattern: None if transport is None else CountedGraphTransport(transport, root_path)
        for pattern, transport in client._mounts.items()
    }
