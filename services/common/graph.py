"""The one way Sakspost services build a Microsoft Graph client (msgraph-sdk).

- With a base URL (the Graph emulator, local runs and tests) the SDK talks plain HTTP through an
  httpx client whose `base_url` the request adapter uses, with no token at all.
- Without one it talks to graph.microsoft.com with an app-only ClientSecretCredential. One
  credential is held per process: it caches the token, and long-lived reuse is what kiota's fixed
  token provider expects (older releases closed the credential after each fetch).
- Every request asks for immutable ids (`Prefer: IdType="ImmutableId"`), so a message keeps its id
  when it is moved, including requests that send their own `Prefer` (delta page size).
- The SDK's retry handler also retries POSTs: a 504 on sendMail could send twice. Build clients for
  non-idempotent calls with `retries=False` and retry them yourself behind an idempotency check.
"""

from __future__ import annotations

import base64
import threading

import httpx
from azure.identity.aio import ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.request_option import RequestOption
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]  # ships no py.typed

from services.common.errors import TransientError
from services.common.settings import Settings

GRAPH_ROOT = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
IMMUTABLE_IDS = 'IdType="ImmutableId"'
# kiota's default: 100 s to answer, 30 s to connect.
TIMEOUT = httpx.Timeout(100.0, connect=30.0)

THROTTLED = 429

_credentials: dict[tuple[str, str], ClientSecretCredential] = {}
_credentials_lock = threading.Lock()


class GraphRefused(RuntimeError):
    """Graph answered with an error that asking again will not change (a 4xx other than 429)."""


def graph_failure(error: APIError, what: str) -> Exception:
    """A Graph error as the retry discipline wants it: transient when Graph is busy or down."""
    status = error.response_status_code or 0
    if status == THROTTLED or status >= 500:
        headers = {k.lower(): v for k, v in (error.response_headers or {}).items()}
        retry_after = headers.get("retry-after", "")
        return TransientError(
            f"Graph {what}: HTTP {status}",
            retry_after=float(retry_after) if retry_after.isdigit() else None,
        )
    return GraphRefused(f"Graph {what}: HTTP {status}")


class GraphConfigError(ValueError):
    """Neither an emulator base URL nor a complete app registration was given."""


async def _prefer_immutable_ids(request: httpx.Request) -> None:
    prefer = request.headers.get("Prefer")
    if prefer is None:
        request.headers["Prefer"] = IMMUTABLE_IDS
    elif "idtype" not in prefer.lower():
        request.headers["Prefer"] = f"{prefer}, {IMMUTABLE_IDS}"


def _credential(tenant_id: str, client_id: str, client_secret: str) -> ClientSecretCredential:
    """The process's one credential for this app registration."""
    with _credentials_lock:
        key = (tenant_id, client_id)
        if key not in _credentials:
            _credentials[key] = ClientSecretCredential(tenant_id, client_id, client_secret)
        return _credentials[key]


def make_graph_client(
    base_url: str | None = None,
    *,
    tenant_id: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    retries: bool = True,
) -> GraphServiceClient:
    """A GraphServiceClient for the emulator (`base_url`, e.g. http://127.0.0.1:8025/v1.0)
    or for Microsoft 365 (tenant, client id and secret); `retries=False` for sendMail/forward."""
    root = (base_url or GRAPH_ROOT).rstrip("/")
    http = httpx.AsyncClient(
        base_url=root,
        timeout=TIMEOUT,
        trust_env=base_url is None,
        event_hooks={"request": [_prefer_immutable_ids]},
    )
    options: dict[str, RequestOption] = {}
    if not retries:
        no_retry = RetryHandlerOption(max_retries=0, should_retry=False)
        options[RetryHandlerOption.get_key()] = no_retry
    http = GraphClientFactory.create_with_default_middleware(client=http, options=options)
    if base_url is not None:
        return _client(GraphRequestAdapter(AnonymousAuthenticationProvider(), http), root)
    if not (tenant_id and client_id and client_secret):
        raise GraphConfigError(
            "Graph needs either a base URL (the emulator) or tenant id, client id and client "
            "secret (fix: set SAKSPOST_GRAPH_BASE_URL, or the three SAKSPOST_GRAPH_* secrets)"
        )
    credential = _credential(tenant_id, client_id, client_secret)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=GRAPH_SCOPES)
    return _client(GraphRequestAdapter(auth, http), root)


def graph_client_for(settings: Settings, retries: bool = True) -> GraphServiceClient:
    """The Graph client the `SAKSPOST_GRAPH_*` settings describe (the emulator or Microsoft 365)."""
    secret = settings.graph_client_secret
    return make_graph_client(
        settings.graph_base_url,
        tenant_id=settings.graph_tenant_id,
        client_id=settings.graph_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        retries=retries,
    )


def _client(adapter: GraphRequestAdapter, root: str) -> GraphServiceClient:
    # The adapter reads httpx's base_url, which httpx always ends with "/": URL templates start
    # with "/" too, which would give ".../v1.0//users". Set the root without the slash.
    adapter.base_url = root
    return GraphServiceClient(request_adapter=adapter)


async def get_mime(client: GraphServiceClient, user: str, message_id: str) -> bytes:
    """The raw MIME of a message exactly as Graph's `$value` returns it."""
    builder = client.users.by_user_id(user).messages.by_message_id(message_id)
    content = await builder.content.get()
    return content if isinstance(content, bytes) else b""


async def send_mime(client: GraphServiceClient, user: str, raw: bytes) -> None:
    """Send RFC 5322 bytes as they are from `user`'s mailbox (Graph's MIME `sendMail`): the only
    way to set the Message-ID and our own headers. Build the client with `retries=False`."""
    builder = client.users.by_user_id(user).send_mail
    request = RequestInformation(Method.POST, builder.url_template, builder.path_parameters)
    request.set_stream_content(base64.b64encode(raw), "text/plain")
    await client.request_adapter.send_no_response_content_async(request, {"XXX": ODataError})
