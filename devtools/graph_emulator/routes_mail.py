"""Graph mail endpoints under /v1.0/users/{user}: messages, folders, delta, sending, settings."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtools.graph_emulator.compose import (
    Draft,
    apply_draft_fields,
    build_mime,
    forward_draft,
    new_message_id,
    parse_recipients,
)
from devtools.graph_emulator.delta import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    DeltaState,
    delta_page,
    parse_change_type,
    removed_json,
)
from devtools.graph_emulator.errors import GraphError, bad_request, not_found
from devtools.graph_emulator.message_filter import parse_filter
from devtools.graph_emulator.message_patch import apply_patch, check_if_match
from devtools.graph_emulator.mime_fields import Address, extract_fields
from devtools.graph_emulator.requests_util import (
    action_body,
    context_url,
    emulator_of,
    json_body,
    mailbox_of,
    message_of,
    page_size,
)
from devtools.graph_emulator.resources import (
    folder_json,
    message_json,
    parse_select,
    user_json,
)
from devtools.graph_emulator.settings_patch import patch_settings, select_settings
from devtools.graph_emulator.store import FOLDER_NAMES, FolderKey, Mailbox, StoredMessage

ACCEPTED = 202


def _folder(request: Request, mailbox: Mailbox) -> FolderKey:
    reference = request.path_params["folder"]
    folder = mailbox.folder_of(reference)
    if folder is None:
        raise not_found(f"The folder '{reference}' was not found.", code="ErrorFolderNotFound")
    return folder


async def get_user(request: Request) -> Response:
    mailbox = mailbox_of(request)
    return JSONResponse(
        {"@odata.context": context_url(request, "users/$entity"), **user_json(mailbox)}
    )


def _message_list(request: Request, mailbox: Mailbox, messages: list[StoredMessage]) -> Response:
    select = parse_select(request.query_params.get("$select"))
    wanted = parse_filter(request.query_params.get("$filter"))
    chosen = sorted(
        (m for m in messages if wanted(m)), key=lambda m: (m.received, m.seq), reverse=True
    )
    size = page_size(request, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    skip_text = request.query_params.get("$skip", "0")
    if not skip_text.isdigit():
        raise bad_request(f"Invalid $skip '{skip_text}'.", code="ErrorInvalidParameter")
    skip = int(skip_text)
    page = chosen[skip : skip + size]
    body: dict[str, Any] = {
        "@odata.context": context_url(request, "users('…')/messages"),
        "value": [message_json(mailbox, m, select) for m in page],
    }
    if skip + size < len(chosen):
        query = dict(request.query_params)
        query.update({"$skip": str(skip + size), "$top": str(size)})
        encoded = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query.items())
        body["@odata.nextLink"] = f"{request.url.replace(query=None)}?{encoded}"
    return JSONResponse(body)


async def list_messages(request: Request) -> Response:
    mailbox = mailbox_of(request)
    return _message_list(request, mailbox, list(mailbox.messages.values()))


async def list_folder_messages(request: Request) -> Response:
    mailbox = mailbox_of(request)
    return _message_list(request, mailbox, mailbox.in_folder(_folder(request, mailbox)))


async def get_message(request: Request) -> Response:
    mailbox = mailbox_of(request)
    message = message_of(request, mailbox)
    if "folder" in request.path_params and message.folder != _folder(request, mailbox):
        raise not_found("The specified object was not found in the store.")
    select = parse_select(request.query_params.get("$select"))
    context = context_url(request, "users('…')/messages/$entity")
    return JSONResponse({"@odata.context": context, **message_json(mailbox, message, select)})


async def get_mime(request: Request) -> Response:
    mailbox = mailbox_of(request)
    message = message_of(request, mailbox)
    return Response(message.mime, media_type="text/plain")


def _rebuild_draft(mailbox: Mailbox, message: StoredMessage) -> bytes:
    draft = message.draft
    assert draft is not None
    sender = Address(mailbox.display_name, mailbox.address)
    message_id = message.fields.internet_message_id or new_message_id(mailbox.address)
    return build_mime(draft, sender, message.received, message_id, with_bcc=True)


async def patch_message(request: Request) -> Response:
    emulator = emulator_of(request)
    mailbox = mailbox_of(request)
    message = message_of(request, mailbox)
    body = await json_body(request)
    check_if_match(message, request.headers.get("if-match"))
    if apply_patch(message, body):
        emulator.store.replace_mime(mailbox, message, _rebuild_draft(mailbox, message))
    else:
        emulator.store.touch(mailbox, message)
    return JSONResponse(message_json(mailbox, message, None))


async def delete_message(request: Request) -> Response:
    """Graph's DELETE moves to Deleted Items; deleting from there removes the message."""
    emulator = emulator_of(request)
    mailbox = mailbox_of(request)
    message = message_of(request, mailbox)
    if message.folder == "deleteditems":
        emulator.store.remove(mailbox, message)
    else:
        emulator.store.move(mailbox, message, "deleteditems")
    return Response(status_code=204)


async def permanent_delete(request: Request) -> Response:
    mailbox = mailbox_of(request)
    emulator_of(request).store.remove(mailbox, message_of(request, mailbox))
    return Response(status_code=204)


async def move_message(request: Request) -> Response:
    mailbox = mailbox_of(request)
    message = message_of(request, mailbox)
    destination = (await action_body(request)).get("destinationId")
    if not isinstance(destination, str):
        raise bad_request("destinationId is required.", code="ErrorInvalidIdMalformed")
    folder = mailbox.folder_of(destination)
    if folder is None:
        raise not_found(f"The folder '{destination}' was not found.", code="ErrorFolderNotFound")
    emulator_of(request).store.move(mailbox, message, folder)
    return JSONResponse(message_json(mailbox, message, None), status_code=201)


async def list_folders(request: Request) -> Response:
    mailbox = mailbox_of(request)
    folders = [folder_json(mailbox, key) for key in FOLDER_NAMES]
    return JSONResponse({"@odata.context": context_url(request, "mailFolders"), "value": folders})


async def get_folder(request: Request) -> Response:
    mailbox = mailbox_of(request)
    return JSONResponse(folder_json(mailbox, _folder(request, mailbox)))


async def delta(request: Request) -> Response:
    mailbox = mailbox_of(request)
    folder = _folder(request, mailbox)
    query = request.query_params
    if skip := query.get("$skiptoken"):
        state = DeltaState.decode(skip, folder)
    elif token := query.get("$deltatoken"):
        since = DeltaState.decode(token, folder)
        state = DeltaState(
            folder, since.since, mailbox.seq, since.since, since.page_size, since.select,
            since.change_types,
        )  # fmt: skip
    else:
        state = DeltaState(
            folder, 0, mailbox.seq, 0, page_size(request, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
            parse_select(query.get("$select")), parse_change_type(query.get("changeType")),
        )  # fmt: skip
    items, following, complete = delta_page(mailbox, state)
    values = [
        message_json(mailbox, item.entry, state.select)
        if isinstance(item.entry, StoredMessage)
        else removed_json(item.entry)
        for item in items
    ]
    link = f"{request.url.replace(query=None)}?"
    body: dict[str, Any] = {"@odata.context": context_url(request, "Collection(message)")}
    body["value"] = values
    if complete:
        body["@odata.deltaLink"] = link + f"$deltatoken={quote(following.encode(), safe='')}"
    else:
        body["@odata.nextLink"] = link + f"$skiptoken={quote(following.encode(), safe='')}"
    return JSONResponse(body)


async def send_mail(request: Request) -> Response:
    emulator = emulator_of(request)
    mailbox = mailbox_of(request)
    if request.headers.get("content-type", "").startswith("text/plain"):
        try:
            raw = base64.b64decode(await request.body(), validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("The MIME content is not valid base64.") from None
        fields = extract_fields(raw)
        recipients = [a.address for a in (*fields.to, *fields.cc)]
        if not recipients:
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient is required.")
        emulator.postman.deliver(recipients, raw, mailbox.address)
        emulator.store.add(mailbox, raw, "sentitems", is_read=True)
        return Response(status_code=ACCEPTED)
    body = await action_body(request)
    message = body.get("message")
    if not isinstance(message, dict):
        raise bad_request("The message property is required.", code="ErrorInvalidParameter")
    draft = Draft()
    apply_draft_fields(draft, message)
    if not draft.all_recipients():
        raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient is required.")
    save = body.get("saveToSentItems", True)
    emulator.postman.send(mailbox, draft, save_copy=save is not False)
    return Response(status_code=ACCEPTED)


def _forward_request(body: dict[str, Any], original: StoredMessage) -> Draft:
    """Graph's forward rules: comment or message.body, toRecipients in one place only."""
    message = body.get("message") or {}
    if not isinstance(message, dict):
        raise bad_request("Property message must be a message.")
    comment = body.get("comment")
    if comment is not None and "body" in message:
        raise bad_request("Give either comment or message.body, not both.")
    if "toRecipients" in body and "toRecipients" in message:
        raise bad_request("Give toRecipients either in the request or in message, not both.")
    draft = forward_draft(
        original.mime, original.fields, comment if isinstance(comment, str) else ""
    )
    apply_draft_fields(draft, message)
    if "toRecipients" in body:
        draft.recipients["toRecipients"] = parse_recipients(body["toRecipients"], "toRecipients")
    return draft


async def forward(request: Request) -> Response:
    emulator = emulator_of(request)
    mailbox = mailbox_of(request)
    draft = _forward_request(await action_body(request), message_of(request, mailbox))
    if not draft.addresses("toRecipients"):
        raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient is required.")
    emulator.postman.send(mailbox, draft, save_copy=True)
    return Response(status_code=ACCEPTED)


async def create_forward(request: Request) -> Response:
    emulator = emulator_of(request)
    mailbox = mailbox_of(request)
    draft = _forward_request(await action_body(request), message_of(request, mailbox))
    sender = Address(mailbox.display_name, mailbox.address)
    raw = build_mime(
        draft, sender, emulator.clock.now(), new_message_id(mailbox.address), with_bcc=True
    )
    created = emulator.store.add(mailbox, raw, "drafts", is_read=True, draft=draft)
    return JSONResponse(message_json(mailbox, created, None), status_code=201)


async def send_draft(request: Request) -> Response:
    emulator = emulator_of(request)
    mailbox = mailbox_of(request)
    message = message_of(request, mailbox)
    draft = message.draft
    if draft is None:
        raise bad_request("Only a draft can be sent.", code="ErrorInvalidOperation")
    if not draft.all_recipients():
        raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient is required.")
    emulator.store.remove(mailbox, message)
    emulator.postman.send(mailbox, draft, save_copy=True)
    return Response(status_code=ACCEPTED)


async def get_settings(request: Request) -> Response:
    mailbox = mailbox_of(request)
    shown = select_settings(mailbox.settings, request.query_params.get("$select"))
    context = context_url(request, "users('…')/mailboxSettings")
    return JSONResponse({"@odata.context": context, **shown})


async def patch_settings_route(request: Request) -> Response:
    mailbox = mailbox_of(request)
    patch_settings(mailbox.settings, await json_body(request))
    emulator_of(request).mark_dirty()
    return JSONResponse(mailbox.settings)


async def get_auto_replies(request: Request) -> Response:
    return JSONResponse(mailbox_of(request).settings["automaticRepliesSetting"])


async def patch_auto_replies(request: Request) -> Response:
    mailbox = mailbox_of(request)
    patch_settings(mailbox.settings, {"automaticRepliesSetting": await json_body(request)})
    emulator_of(request).mark_dirty()
    return JSONResponse(mailbox.settings["automaticRepliesSetting"])


_USER = "/v1.0/users/{user}"
_MESSAGE = _USER + "/messages/{message}"
_FOLDER = _USER + "/mailFolders/{folder}"

ROUTES = [
    Route(_USER, get_user, methods=["GET"]),
    Route(_USER + "/messages", list_messages, methods=["GET"]),
    Route(_MESSAGE, get_message, methods=["GET"]),
    Route(_MESSAGE, patch_message, methods=["PATCH"]),
    Route(_MESSAGE, delete_message, methods=["DELETE"]),
    Route(_MESSAGE + "/$value", get_mime, methods=["GET"]),
    Route(_MESSAGE + "/move", move_message, methods=["POST"]),
    Route(_MESSAGE + "/permanentDelete", permanent_delete, methods=["POST"]),
    Route(_MESSAGE + "/forward", forward, methods=["POST"]),
    Route(_MESSAGE + "/createForward", create_forward, methods=["POST"]),
    Route(_MESSAGE + "/send", send_draft, methods=["POST"]),
    Route(_USER + "/sendMail", send_mail, methods=["POST"]),
    Route(_USER + "/mailFolders", list_folders, methods=["GET"]),
    Route(_FOLDER, get_folder, methods=["GET"]),
    Route(_FOLDER + "/messages/delta()", delta, methods=["GET"]),
    Route(_FOLDER + "/messages/delta", delta, methods=["GET"]),
    Route(_FOLDER + "/messages", list_folder_messages, methods=["GET"]),
    Route(_FOLDER + "/messages/{message}", get_message, methods=["GET"]),
    Route(_USER + "/mailboxSettings", get_settings, methods=["GET"]),
    Route(_USER + "/mailboxSettings", patch_settings_route, methods=["PATCH"]),
    Route(_USER + "/mailboxSettings/automaticRepliesSetting", get_auto_replies, methods=["GET"]),
    Route(
        _USER + "/mailboxSettings/automaticRepliesSetting", patch_auto_replies, methods=["PATCH"]
    ),
]
