"""The emulator's own API under /_emulator/: fault switches, the request log, raw delivery,
lifecycle events, the clock and what was sent to the outside world."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtools.graph_emulator.errors import GraphError, bad_request
from devtools.graph_emulator.faults import parse_faults
from devtools.graph_emulator.requests_util import emulator_of, json_body, mailbox_of
from devtools.graph_emulator.subscriptions import LIFECYCLE_EVENTS


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    ready = getattr(request.app.state, "ready", False)
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


async def mailboxes(request: Request) -> Response:
    store = emulator_of(request).store
    values = [
        {"address": m.address, "userId": m.user_id, "kind": m.kind, "aliases": list(m.aliases),
         "messages": len(m.messages)}
        for m in store.mailboxes.values()
    ]  # fmt: skip
    return JSONResponse({"value": values})


async def get_faults(request: Request) -> Response:
    return JSONResponse(emulator_of(request).faults.as_json())


async def put_faults(request: Request) -> Response:
    mailbox = mailbox_of(request)
    faults = parse_faults(await json_body(request))
    emulator_of(request).faults.set(mailbox.address, faults)
    return JSONResponse(faults.as_json())


async def clear_faults(request: Request) -> Response:
    emulator_of(request).faults.clear(mailbox_of(request).address)
    return Response(status_code=204)


async def clear_all_faults(request: Request) -> Response:
    emulator_of(request).faults.clear()
    return Response(status_code=204)


async def get_requests(request: Request) -> Response:
    return JSONResponse(emulator_of(request).requests.as_json())


async def reset_requests(request: Request) -> Response:
    emulator_of(request).requests.reset()
    return Response(status_code=204)


async def deliver(request: Request) -> Response:
    """Store a raw MIME body in a mailbox folder (default Inbox) exactly as given."""
    emulator = emulator_of(request)
    mailbox = mailbox_of(request)
    folder_name = request.query_params.get("folder", "inbox")
    folder = mailbox.folder_of(folder_name)
    if folder is None:
        raise bad_request(f"Unknown folder '{folder_name}'.")
    raw = await request.body()
    if not raw:
        raise bad_request("The request body must be the raw MIME message.")
    if folder == "inbox":
        message = emulator.postman.deliver([mailbox.address], raw, "admin")[0]
    else:
        message = emulator.store.add(mailbox, raw, folder)
    return JSONResponse({"id": message.id, "mailbox": mailbox.address}, status_code=201)


async def lifecycle(request: Request) -> Response:
    emulator = emulator_of(request)
    subscription = emulator.registry.get(request.path_params["id"])
    body: Any = await json_body(request)
    event = body.get("event") if isinstance(body, dict) else None
    if event not in LIFECYCLE_EVENTS:
        raise bad_request(f"event must be one of {list(LIFECYCLE_EVENTS)}.")
    if not emulator.dispatcher.send_lifecycle(subscription, event):
        raise GraphError(409, "NoLifecycleUrl", "The subscription has no lifecycle URL.")
    if event == "subscriptionRemoved":
        emulator.remove_subscription(subscription)
    return JSONResponse({"subscriptionId": subscription.id, "event": event}, status_code=202)


async def notifications(request: Request) -> Response:
    return JSONResponse(emulator_of(request).dispatcher.stats.as_json())


async def outbound(request: Request) -> Response:
    return JSONResponse({"value": list(emulator_of(request).postman.outbound)})


async def advance_clock(request: Request) -> Response:
    body = await json_body(request)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise bad_request("seconds must be a non-negative number.")
    now = emulator_of(request).clock.advance(float(seconds))
    return JSONResponse({"now": now.isoformat()})


_ADMIN = "/_emulator"
ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route(_ADMIN + "/mailboxes", mailboxes, methods=["GET"]),
    Route(_ADMIN + "/faults", get_faults, methods=["GET"]),
    Route(_ADMIN + "/faults", clear_all_faults, methods=["DELETE"]),
    Route(_ADMIN + "/mailboxes/{user}/faults", put_faults, methods=["PUT"]),
    Route(_ADMIN + "/mailboxes/{user}/faults", clear_faults, methods=["DELETE"]),
    Route(_ADMIN + "/mailboxes/{user}/deliver", deliver, methods=["POST"]),
    Route(_ADMIN + "/requests", get_requests, methods=["GET"]),
    Route(_ADMIN + "/requests", reset_requests, methods=["DELETE"]),
    Route(_ADMIN + "/requests/reset", reset_requests, methods=["POST"]),
    Route(_ADMIN + "/subscriptions/{id}/lifecycle", lifecycle, methods=["POST"]),
    Route(_ADMIN + "/notifications", notifications, methods=["GET"]),
    Route(_ADMIN + "/outbound", outbound, methods=["GET"]),
    Route(_ADMIN + "/clock/advance", advance_clock, methods=["POST"]),
]
