"""Small helpers every route uses: the emulator from the app, JSON bodies, mailbox look-ups."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request

from devtools.graph_emulator.errors import GraphError, bad_request, not_found
from devtools.graph_emulator.store import Mailbox, StoredMessage

if TYPE_CHECKING:
    from devtools.graph_emulator.emulator import Emulator

_MAX_PAGE_SIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


def emulator_of(request: Request) -> Emulator:
    return cast("Emulator", request.app.state.emulator)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.", code="BadRequest") from None


async def action_body(request: Request) -> dict[str, Any]:
    """The JSON object of an action (move, forward, sendMail). Graph reads action parameters
    case-insensitively and msgraph-sdk writes them capitalised ("DestinationId")."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return {key[:1].lower() + key[1:]: value for key, value in body.items()}


def mailbox_of(request: Request) -> Mailbox:
    user = request.path_params["user"]
    mailbox = emulator_of(request).store.mailbox(user)
    if mailbox is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
    return mailbox


def message_of(request: Request, mailbox: Mailbox) -> StoredMessage:
    message = mailbox.messages.get(request.path_params["message"])
    if message is None:
        raise not_found("The specified object was not found in the store.")
    return message


def page_size(request: Request, default: int, maximum: int) -> int:
    """`$top`, else `Prefer: odata.maxpagesize`, else the default."""
    top = request.query_params.get("$top")
    preferred = _MAX_PAGE_SIZE.search(request.headers.get("prefer", ""))
    value = top if top is not None else (preferred.group(1) if preferred else None)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise bad_request(f"Invalid page size '{value}'.", code="ErrorInvalidParameter")
    return min(int(value), maximum)


def context_url(request: Request, tail: str) -> str:
    return f"{request.base_url}v1.0/$metadata#{tail}"
