"""The Starlette app of the emulator's login host (its own TLS port, as login.microsoftonline.com
is): the discovery document and keys, the interactive sign-in, and one token endpoint for both
the Graph app's client credentials (`identity.TokenIssuer`) and the sign-in's grants
(`signin.SignIn`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtools.graph_emulator.identity import GRAPH_SCOPE, Refused, TokenIssuer
from devtools.graph_emulator.signin import SignIn, form_of


def _basic(authorization: str | None) -> tuple[str, str] | None:
    """A client id and secret sent as HTTP Basic authentication (RFC 6749 2.3.1)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if separator else None


def login_app(issuer: TokenIssuer | None, discovery: list[Route], sign_in: SignIn) -> Starlette:
    def for_graph(fields: Mapping[str, str]) -> bool:
        # Graph's own registration, when there is one, is asked for Graph's scope.
        if issuer is None:
            return False
        client_id = fields.get("client_id", "")
        graph_client = client_id == issuer.registration.client_id and client_id not in sign_in.apps
        return graph_client or GRAPH_SCOPE in fields.get("scope", "").split()

    async def token(request: Request) -> Response:
        fields = await form_of(request)
        tenant = request.path_params["tenant"]
        try:
            if issuer is not None and for_graph(fields):
                # The audience a client assertion must name: this endpoint as it was addressed.
                endpoint = str(request.url.replace(query=""))
                return JSONResponse(issuer.issue(tenant, endpoint, fields))
            basic = _basic(request.headers.get("authorization"))
            return JSONResponse(sign_in.token(tenant, fields, basic))
        except Refused as refused:
            return refused.response()

    return Starlette(
        routes=[
            Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
            *sign_in.routes(),
            *discovery,
        ]
    )
