"""The Starlette application: Graph routes behind the fault gate, plus the admin API."""

from __future__ import annotations

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from devtools.graph_emulator import routes_admin, routes_mail, routes_subscriptions
from devtools.graph_emulator.emulator import Emulator
from devtools.graph_emulator.errors import GraphError, error_response, render
from devtools.graph_emulator.gate import GraphGate

log = structlog.get_logger(__name__)


async def _graph_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, GraphError)
    return render(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return error_response(
            404, "BadRequest", f"Resource not found for the segment '{request.url.path}'."
        )
    if error.status_code == 405:
        return error_response(405, "Request_BadRequest", "The HTTP method is not allowed here.")
    return error_response(error.status_code, "BadRequest", str(error.detail))


async def _unexpected(request: Request, error: Exception) -> Response:
    log.error("unexpected_error", error=type(error).__name__, path=request.url.path)
    return error_response(500, "InternalServerError", "The emulator failed on this request.")


def build_app(emulator: Emulator) -> Starlette:
    graph_routes: list[BaseRoute] = [*routes_mail.ROUTES, *routes_subscriptions.ROUTES]
    app = Starlette(
        routes=[*graph_routes, *routes_admin.ROUTES],
        middleware=[Middleware(GraphGate, emulator=emulator, routes=graph_routes)],
        exception_handlers={
            GraphError: _graph_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.emulator = emulator
    app.state.ready = False
    return app
