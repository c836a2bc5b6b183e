"""Change-notification subscriptions: creation rules, the validation handshake, renewal, expiry."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from devtools.graph_emulator.clock import graph_datetime, parse_graph_datetime
from devtools.graph_emulator.errors import GraphError, bad_request
from devtools.graph_emulator.store import FolderKey, Mailbox, MailStore

log = structlog.get_logger(__name__)

MIN_LIFETIME = timedelta(minutes=45)
MAX_LIFETIME = timedelta(minutes=10_080)
MAX_CLIENT_STATE = 128
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
_FOLDER_RESOURCE = re.compile(
    r"^/?users/(?P<user>[^/]+)/mailfolders(?:\('(?P<named>[^']+)'\)|/(?P<id>[^/]+))/messages$",
    re.IGNORECASE,
)
_MAILBOX_RESOURCE = re.compile(r"^/?users/(?P<user>[^/]+)/messages$", re.IGNORECASE)


@dataclass
class Subscription:
    id: str
    resource: str
    mailbox: Mailbox
    folder: FolderKey | None  # None: every folder of the mailbox
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime
    application_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": ",".join(sorted(self.change_types)),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": graph_datetime(self.expires),
            "creatorId": self.application_id,
            "latestSupportedTlsVersion": "v1_2",
            "includeResourceData": False,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationQueryOptions": None,
            "notificationUrlAppId": None,
        }


def _resource_target(store: MailStore, resource: str) -> tuple[Mailbox, FolderKey | None]:
    path = resource.split("?", 1)[0].strip()
    match = _FOLDER_RESOURCE.match(path) or _MAILBOX_RESOURCE.match(path)
    if match is None:
        raise bad_request(
            f"Resource '{resource}' is not supported (use users/{{id}}/messages or "
            "users/{id}/mailFolders('Inbox')/messages).",
            code="InvalidRequest",
        )
    mailbox = store.mailbox(match["user"])
    if mailbox is None:
        raise GraphError(404, "ResourceNotFound", f"The user '{match['user']}' does not exist.")
    reference = match.groupdict().get("named") or match.groupdict().get("id")
    if reference is None:
        return mailbox, None
    folder = mailbox.folder_of(reference)
    if folder is None:
        raise GraphError(404, "ResourceNotFound", f"The folder '{reference}' does not exist.")
    return mailbox, folder


def checked_expiry(value: Any, now: datetime) -> datetime:
    """Graph's lifetime rule: under 45 minutes is raised to 45, over 10,080 is refused."""
    if not isinstance(value, str):
        raise bad_request("expirationDateTime is required.", code="InvalidRequest")
    try:
        expires = parse_graph_datetime(value)
    except ValueError:
        raise bad_request(f"Invalid expirationDateTime '{value}'.", code="InvalidRequest") from None
    if expires <= now:
        raise bad_request("Subscription expiration is in the past.", code="ExtensionError")
    if expires - now > MAX_LIFETIME:
        raise bad_request(
            "Subscription expiration can only be 10080 minutes in the future.",
            code="ExtensionError",
        )
    return max(expires, now + MIN_LIFETIME)


def _url(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise bad_request(f"{name} must be an absolute http(s) URL.", code="InvalidRequest")
    return value


def new_subscription(
    store: MailStore, body: Any, now: datetime, application_id: str
) -> Subscription:
    """A subscription from a POST body, checked as Graph checks it (before validation)."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="InvalidRequest")
    kinds = frozenset(k.strip() for k in str(body.get("changeType") or "").split(",") if k.strip())
    if not kinds or not kinds <= CHANGE_TYPES:
        raise bad_request(
            "changeType must be created, updated and/or deleted.", code="InvalidRequest"
        )
    resource = body.get("resource")
    if not isinstance(resource, str):
        raise bad_request("resource is required.", code="InvalidRequest")
    mailbox, folder = _resource_target(store, resource)
    client_state = body.get("clientState")
    if client_state is not None and (
        not isinstance(client_state, str) or len(client_state) > MAX_CLIENT_STATE
    ):
        raise bad_request("clientState must be a string of at most 128 characters.")
    lifecycle = body.get("lifecycleNotificationUrl")
    return Subscription(
        id=str(uuid.uuid4()),
        resource=resource,
        mailbox=mailbox,
        folder=folder,
        change_types=kinds,
        notification_url=_url(body.get("notificationUrl"), "notificationUrl"),
        lifecycle_url=None if lifecycle is None else _url(lifecycle, "lifecycleNotificationUrl"),
        client_state=client_state,
        expires=checked_expiry(body.get("expirationDateTime"), now),
        application_id=application_id,
    )


def _with_token(url: str, token: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}validationToken={quote(token, safe='')}"


async def validate_endpoint(http: httpx.AsyncClient, url: str, wait_seconds: float) -> None:
    """Graph's handshake: POST ?validationToken=…, expect 200 and the decoded token as text."""
    # Graph's tokens are prose with spaces and colons: an endpoint that echoes the URL-encoded
    # query value instead of the decoded token fails, as it would against Graph.
    token = (
        "Validation: Testing client application reachability for subscription "
        f"Request-Id: {uuid.uuid4()} {secrets.token_urlsafe(8)}"
    )
    failed = "Subscription validation request failed. "
    try:
        response = await http.post(
            _with_token(url, token),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=wait_seconds,
        )
    except httpx.TimeoutException:
        raise GraphError(
            400, "ValidationError", failed + "Notification endpoint must respond with 200 OK "
            "to validation request. The operation has timed out."
        ) from None  # fmt: skip
    except httpx.HTTPError:
        raise GraphError(
            400, "ValidationError", failed + "Notification endpoint could not be reached."
        ) from None
    if response.status_code != 200:
        log.info("validation_refused", status=response.status_code)
        raise GraphError(
            400, "ValidationError",
            failed + "Notification endpoint must respond with 200 OK to validation request.",
        )  # fmt: skip
    if response.text != token:
        raise GraphError(
            400, "ValidationError",
            failed + "Response must exactly match validationToken query parameter.",
        )  # fmt: skip


class SubscriptionRegistry:
    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}

    def get(self, subscription_id: str) -> Subscription:
        found = self.subscriptions.get(subscription_id)
        if found is None:
            raise GraphError(
                404, "ResourceNotFound", f"The object '{subscription_id}' doesn't exist."
            )
        return found

    def check_duplicate(self, candidate: Subscription) -> None:
        for existing in self.subscriptions.values():
            if (
                existing.resource.lower() == candidate.resource.lower()
                and existing.change_types == candidate.change_types
            ):
                raise GraphError(
                    409, "ExtensionError",
                    f"Subscription Id {existing.id} already exists for the requested combination",
                )  # fmt: skip

    def expired(self, now: datetime) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.expires <= now]
