"""Validation of HTTP exchanges against ACOS's OpenAPI document of the WebSak Integration API.

Two adjustments to the published document, neither of which loosens a schema: its `servers` entry
(`/api/websak`) is replaced by the root, because its own paths already start with
`/api/integration/` (the stand-in serves them there); and its `oauth2` scheme is checked as HTTP
bearer, because openapi-core cannot check OAuth flows and an OAuth token travels as a bearer token.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

CONTRACT_FILE = (
    Path(__file__).resolve().parents[2]
    / "devtools"
    / "websak_standin"
    / "contract"
    / "websak-integration-api.openapi.json"
)
# Statuses the contract documents; anything else (400, 404, 5xx) is outside it by design.
DOCUMENTED_STATUSES = frozenset({200, 204, 401, 403})


def load_contract() -> OpenAPI:
    spec: dict[str, Any] = json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": "/"}]
    spec["components"]["securitySchemes"]["oauth2"] = {"type": "http", "scheme": "bearer"}
    return OpenAPI.from_dict(spec)


def _for_validator(body: bytes, content_type: str) -> bytes:
    """openapi-core parses multipart bodies with `email`, which turns a `message/rfc822` part into
    a nested message and then finds no bytes in it. The contract's `file` part is `format: binary`
    whatever its type, so labelling the part as octet-stream for the validator checks the same."""
    if not content_type.startswith("multipart/"):
        return body
    return body.replace(
        b"Content-Type: message/rfc822\r\n", b"Content-Type: application/octet-stream\r\n"
    )


def _mock_request(request: httpx.Request) -> MockRequest:
    content_type = request.headers.get("content-type", "")
    return MockRequest(
        host_url=f"{request.url.scheme}://{request.url.netloc.decode('ascii')}",
        method=request.method,
        path=request.url.path,
        args=dict(parse_qsl(request.url.query.decode("ascii"))),
        headers=dict(request.headers),
        data=_for_validator(request.content, content_type),
        content_type=content_type,
    )


@dataclass
class ContractRecorder:
    """httpx event hooks that keep every API exchange, to validate after the test's calls."""

    contract: OpenAPI
    exchanges: list[tuple[httpx.Request, httpx.Response]] = field(default_factory=list)

    async def on_request(self, request: httpx.Request) -> None:
        # Multipart uploads are streamed; read them so the body can be validated afterwards.
        await request.aread()

    async def on_response(self, response: httpx.Response) -> None:
        if response.request.url.path.startswith("/api/integration/"):
            await response.aread()
            self.exchanges.append((response.request, response))

    def validate(self) -> int:
        """Raise on the first exchange that breaks the contract; return how many were checked."""
        checked = 0
        for request, response in self.exchanges:
            mock_request = _mock_request(request)
            # A 401 answers a request without valid credentials, which the contract forbids by
            # design; only its response is checked.
            if response.status_code != 401:
                self.contract.validate_request(mock_request)
            if response.status_code in DOCUMENTED_STATUSES:
                mock_response = MockResponse(
                    data=response.content,
                    status_code=response.status_code,
                    headers=dict(response.headers),
                    content_type=response.headers.get("content-type", "").split(";")[0],
                )
                self.contract.validate_response(mock_request, mock_response)
            checked += 1
        return checked

    def operations(self) -> set[tuple[str, str]]:
        return {(request.method, request.url.path) for request, _ in self.exchanges}
