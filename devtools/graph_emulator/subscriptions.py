"""Change-notification subscriptions: creation rules, the validation handshake, renewal, expiry."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from devtools.graph_emulator.clock import graph_datetime, parse_graph_datetime
from devtools.graph_emulator.errors import GraphError, bad_request
from devtools.graph_emulator.resource_data import parse_certificate
from devtools.graph_emulator.resources import parse_select
from devtools.graph_emulator.store import FolderKey, Mailbox, MailStore

log = structlog.get_logger(__name__)

MIN_LIFETIME = timedelta(minutes=45)
MAX_LIFETIME = timedelta(minutes=10_080)
# Outlook subscriptions that include resource data live at most one day.
MAX_LIFETIME_WITH_RESOURCE_DATA = timedelta(minutes=1440)
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
    # With resource data: the certificate its notifications are encrypted for, the subscriber's
    # id for it, and the `$select` of the resource that is sent.
    encryption_certificate: x509.Certificate | None = None
    encryption_certificate_id: str | None = None
    select: list[str] | None = None

    @property
    def include_resource_data(self) -> bool:
        return self.encryption_certificate is not None

    @property
    def max_lifetime(self) -> timedelta:
        return MAX_LIFETIME_WITH_RESOURCE_DATA if self.include_resource_data else MAX_LIFETIME

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
            "includeResourceData": self.include_resource_data,
            "encryptionCertificate": (
                base64.b64encode(
                    self.encryption_certificate.public_bytes(serialization.Encoding.DER)
                ).decode()
                if self.encryption_certificate is not None
                else None
            ),
            "encryptionCertificateId": self.encryption_certificate_id,
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


def checked_expiry(value: Any, now: datetime, longest: timedelta = MAX_LIFETIME) -> datetime:
    """Graph's lifetime rule: under 45 minutes is raised to 45, over `longest` (10,080 minutes,
    1,440 with resource data) is refused."""
    if not isinstance(value, str):
        raise bad_request("expirationDateTime is required.", code="InvalidRequest")
    try:
        expires = parse_graph_datetime(value)
    except ValueError:
        raise bad_request(f"Invalid expirationDateTime '{value}'.", code="InvalidRequest") from None
    if expires <= now:
        raise bad_request("Subscription expiration is in the past.", code="ExtensionError")
    if expires - now > longest:
        minutes = int(longest.total_seconds() // 60)
        raise bad_request(
            f"Subscription expiration can only be {minutes} minutes in the future.",
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
    certificate, certificate_id, select = _resource_data(body, resource)
    longest = MAX_LIFETIME if certificate is None else MAX_LIFETIME_WITH_RESOURCE_DATA
    return Subscription(
        id=str(uuid.uuid4()),
        resource=resource,
        mailbox=mailbox,
        folder=folder,
        change_types=kinds,
        notification_url=_url(body.get("notificationUrl"), "notificationUrl"),
        lifecycle_url=None if lifecycle is None else _url(lifecycle, "lifecycleNotificationUrl"),
        client_state=client_state,
        expires=checked_expiry(body.get("expirationDateTime"), now, longest),
        application_id=application_id,
        encryption_certificate=certificate,
        encryption_certificate_id=certificate_id,
        select=select,
    )


def _resource_data(
    body: dict[str, Any], resource: str
) -> tuple[x509.Certificate | None, str | None, list[str] | None]:
    """With `includeResourceData`: the certificate, its id and the resource's `$select`, each
    required as Graph requires them for Outlook messages; without it: nothing."""
    if body.get("includeResourceData") is not True:
        return None, None, None
    if not body.get("encryptionCertificate"):
        raise bad_request(
            "encryptionCertificate is required when includeResourceData is true.",
            code="InvalidRequest",
        )
    certificate_id = body.get("encryptionCertificateId")
    if not isinstance(certificate_id, str) or not certificate_id or len(certificate_id) > 128:
        raise bad_request(
            "encryptionCertificateId is required when includeResourceData is true.",
            code="InvalidRequest",
        )
    query = parse_qs(resource.partition("?")[2])
    select = parse_select(query.get("$select", [""])[0])
    if select is None:
        raise bad_request(
            "Outlook resources with includeResourceData require $select in the resource.",
            code="InvalidRequest",
        )
    return parse_certificate(body["encryptionCertificate"]), certificate_id, select


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
