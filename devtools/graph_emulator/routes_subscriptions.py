"""/v1.0/subscriptions: create (validating both URLs), list, get, renew, reauthorize, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtools.graph_emulator.errors import bad_request
from devtools.graph_emulator.requests_util import context_url, emulator_of, json_body
from devtools.graph_emulator.subscriptions import (
    checked_expiry,
    new_subscription,
    validate_endpoint,
)


async def create(request: Request) -> Response:
    emulator = emulator_of(request)
    subscription = new_subscription(
        emulator.store, await json_body(request), emulator.clock.now(), emulator.application_id
    )
    emulator.registry.check_duplicate(subscription)
    timeout = emulator.timings.validation_timeout
    await validate_endpoint(emulator.http, subscription.notification_url, timeout)
    if subscription.lifecycle_url is not None:
        await validate_endpoint(emulator.http, subscription.lifecycle_url, timeout)
    emulator.registry.check_duplicate(subscription)
    emulator.registry.subscriptions[subscription.id] = subscription
    emulator.mark_dirty()
    context = context_url(request, "subscriptions/$entity")
    return JSONResponse({"@odata.context": context, **subscription.as_json()}, status_code=201)


async def list_all(request: Request) -> Response:
    registry = emulator_of(request).registry
    values = [s.as_json() for s in registry.subscriptions.values()]
    return JSONResponse({"@odata.context": context_url(request, "subscriptions"), "value": values})


async def get_one(request: Request) -> Response:
    subscription = emulator_of(request).registry.get(request.path_params["id"])
    return JSONResponse(subscription.as_json())


async def renew(request: Request) -> Response:
    """PATCH renews (expirationDateTime) and may move the notificationUrl; nothing else."""
    emulator = emulator_of(request)
    subscription = emulator.registry.get(request.path_params["id"])
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="InvalidRequest")
    body = {k: v for k, v in body.items() if not k.startswith("@odata")}
    unknown = sorted(set(body) - {"expirationDateTime", "notificationUrl"})
    if unknown:
        raise bad_request(
            f"Only expirationDateTime and notificationUrl can be updated, not {unknown} "
            "(a lifecycleNotificationUrl needs a new subscription).",
            code="InvalidRequest",
        )
    expires = subscription.expires
    if "expirationDateTime" in body:
        expires = checked_expiry(
            body["expirationDateTime"], emulator.clock.now(), subscription.max_lifetime
        )
    if "notificationUrl" in body:
        url = body["notificationUrl"]
        if not isinstance(url, str):
            raise bad_request("notificationUrl must be a URL.", code="InvalidRequest")
        timeout = emulator.timings.validation_timeout
        await validate_endpoint(emulator.http, url, timeout)
        subscription.notification_url = url
    subscription.expires = expires
    emulator.mark_dirty()
    return JSONResponse(subscription.as_json())


async def reauthorize(request: Request) -> Response:
    emulator_of(request).registry.get(request.path_params["id"])
    return Response(status_code=204)


async def delete(request: Request) -> Response:
    emulator = emulator_of(request)
    emulator.remove_subscription(emulator.registry.get(request.path_params["id"]))
    return Response(status_code=204)


ROUTES = [
    Route("/v1.0/subscriptions", create, methods=["POST"]),
    Route("/v1.0/subscriptions", list_all, methods=["GET"]),
    Route("/v1.0/subscriptions/{id}", get_one, methods=["GET"]),
    Route("/v1.0/subscriptions/{id}", renew, methods=["PATCH"]),
    Route("/v1.0/subscriptions/{id}", delete, methods=["DELETE"]),
    Route("/v1.0/subscriptions/{id}/reauthorize", reauthorize, methods=["POST"]),
]
