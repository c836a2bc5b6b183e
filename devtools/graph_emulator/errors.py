"""Graph-shaped errors: every refusal the emulator gives looks like one from graph.microsoft.com."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.responses import JSONResponse


class GraphError(Exception):
    """A request Graph would refuse; rendered as `{"error": {"code", "message", "innerError"}}`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    request_id = str(uuid.uuid4())
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": request_id,
            },
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def render(error: GraphError) -> JSONResponse:
    return error_response(error.status, error.code, error.message, error.headers)


def bad_request(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found(message: str, code: str = "ErrorItemNotFound") -> GraphError:
    return GraphError(404, code, message)
