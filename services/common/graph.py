"""The one way Sakspost services build a Microsoft Graph client (msgraph-sdk).

- With a base URL (the Graph emulator, local runs and tests) the SDK talks plain HTTP through an
  httpx client whose `base_url` the request adapter uses, with no token unless an app
  registration is given too (the emulator's token endpoint, in tests).
- With an app registration (`GraphApp`: a client secret or a certificate) every request carries
  an app-only token from Entra ID (azure-identity's ClientSecretCredential or
  CertificateCredential); without a base URL one is required, and the SDK talks to
  graph.microsoft.com. One credential is held per process and app registration: it caches the
  token, and long-lived reuse is what kiota's fixed token provider expects (older releases
  closed the credential after each fetch).
- Every request asks for immutable ids (`Prefer: IdType="ImmutableId"`), so a message keeps its id
  when it is moved, including requests that send their own `Prefer` (delta page size).
- The app's token goes to Graph's host only: the authentication provider's `allowed_hosts` is the
  configured root's host (graph.microsoft.com, or the emulator's), and a link Sakspost stored and
  follows later (a deltaLink, a nextLink) is followed only when `is_graph_link` says it points
  under that root: a link from KV pointing elsewhere would otherwise carry the bearer token.
- The SDK's retry handler also retries POSTs: a 504 on sendMail could send twice. Build clients for
  non-idempotent calls with `retries=False` and retry them yourself behind an idempotency check.
- kiota reads every response body whole into memory; a message's MIME (up to 150 MB in Exchange
  Online) is streamed instead (`download_mime`), through the same adapter: the same client, token,
  middleware and hosts, and the same `APIError` for an error answer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import httpx
from azure.identity.aio import CertificateCredential, ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.request_option import RequestOption
from kiota_abstractions.serialization import ParsableFactory
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]  # ships no py.typed

from services.common.errors import TransientError
from services.common.graphmetrics import count_graph_requests
from services.common.httpspans import instrument
from services.common.settings import (
    ClientCertificate,
    ClientSecret,
    GraphApp,
    Settings,
    SettingsError,
)

GRAPH_ROOT = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
IMMUTABLE_IDS = 'IdType="ImmutableId"'
# kiota's default: 100 s to answer, 30 s to connect.
TIMEOUT = httpx.Timeout(100.0, connect=30.0)

THROTTLED = 429
# The piece of a streamed body held in memory at once.
DOWNLOAD_CHUNK_BYTES = 64 * 1024

_Credential = ClientSecretCredential | CertificateCredential
_credentials: dict[GraphApp, _Credential] = {}
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


async def _prefer_immutable_ids(request: httpx.Request) -> None:
    prefer = request.headers.get("Prefer")
    if prefer is None:
        request.headers["Prefer"] = IMMUTABLE_IDS
    elif "idtype" not in prefer.lower():
        request.headers["Prefer"] = f"{prefer}, {IMMUTABLE_IDS}"


def _credential(app: GraphApp) -> _Credential:
    """The process's one credential for this app registration."""
    with _credentials_lock:
        if app not in _credentials:
            _credentials[app] = _new_credential(app)
        return _credentials[app]


def _new_credential(app: GraphApp) -> _Credential:
    # azure-identity's aio credentials post straight to {authority}/{tenant}/oauth2/v2.0/token,
    # with no instance or OpenID discovery: another authority (the emulator's) needs only that
    # route, over https (azure-identity refuses any other scheme).
    options: dict[str, Any] = {}
    if app.authority is not None:
        options["authority"] = app.authority
    if app.authority_ca_file is not None:
        options["connection_verify"] = str(app.authority_ca_file)
    if isinstance(app.credential, ClientSecret):
        secret = app.credential.value.get_secret_value()
        return ClientSecretCredential(app.tenant_id, app.client_id, secret, **options)
    return _certificate_credential(app, app.credential, options)


def _certificate_credential(
    app: GraphApp, certificate: ClientCertificate, options: dict[str, Any]
) -> CertificateCredential:
    # The key is read here, at start-up, so a wrong file or password stops the service at once
    # with the setting to fix, not at the first token request.
    password = certificate.password.get_secret_value() if certificate.password else None
    try:
        return CertificateCredential(
            app.tenant_id, app.client_id, str(certificate.path), password=password, **options
        )
    except OSError as error:
        raise SettingsError(
            f"SAKSPOST_GRAPH_CERTIFICATE_PATH: cannot read {certificate.path} "
            f"({error.strerror}) (fix: mount the certificate's Secret there)"
        ) from None
    except (ValueError, TypeError) as error:
        # cryptography's messages name the problem (wrong password, no RSA key), never the key.
        raise SettingsError(
            f"SAKSPOST_GRAPH_CERTIFICATE_PATH: {certificate.path} holds no usable certificate "
            f"and RSA private key: {error} (fix: a PEM or PKCS#12 file with both, and the right "
            "SAKSPOST_GRAPH_CERTIFICATE_PASSWORD)"
        ) from None


def graph_root(base_url: str | None) -> str:
    """The Graph root every request and every followed link is under, without a trailing slash."""
    return (base_url or GRAPH_ROOT).rstrip("/")


def is_graph_link(link: str, root: str) -> bool:
    """`link` points under `root`: the same scheme, host and port, a path below the root's (its
    API version), no user info. Anything else is not Graph and must never be requested."""
    try:
        url, base = httpx.URL(link), httpx.URL(root)
    except (httpx.InvalidURL, TypeError):
        return False
    return (
        url.scheme == base.scheme
        and url.host == base.host
        and url.port == base.port
        and not url.userinfo
        and url.path.startswith(base.path.rstrip("/") + "/")
        and "/../" not in url.path + "/"
    )


class StreamingGraphAdapter(GraphRequestAdapter):
    """msgraph-sdk's request adapter, which can also hand over a response body as a stream."""

    @contextlib.asynccontextmanager
    async def stream(
        self, request_info: RequestInformation, error_map: dict[str, type[ParsableFactory]]
    ) -> AsyncIterator[httpx.Response]:
        """Send `request_info` as kiota would (base URL, authentication, middleware) and yield
        the answer with its body unread; an error answer raises kiota's `APIError`."""
        span = self.start_tracing_span(request_info, "stream")
        try:
            self.set_base_url_for_request_information(request_info)
            await self._authentication_provider.authenticate_request(request_info)
            request = self.get_request_from_request_information(request_info, span, span)
            response = await self._http_client.send(request, stream=True)
            try:
                if not response.is_success:
                    await response.aread()  # an error body is small, and kiota parses it
                    await self.throw_failed_responses(response, error_map, span, span)
                    # What kiota lets through (a 304, a redirect without a Location) has no body.
                    raise APIError(
                        f"Graph answered {response.status_code}, not the body asked for",
                        response.status_code,
                        dict(response.headers),
                    )
                yield response
            finally:
                await response.aclose()
        finally:
            span.end()


def make_graph_client(
    base_url: str | None = None, *, app: GraphApp | None = None, retries: bool = True
) -> GraphServiceClient:
    """A GraphServiceClient for the emulator (`base_url`, e.g. http://127.0.0.1:8025/v1.0), with
    tokens when `app` is given, or for Microsoft 365 (`app` alone); `retries=False` for
    sendMail/forward."""
    if base_url is None and app is None:
        raise SettingsError(
            "Graph needs SAKSPOST_GRAPH_BASE_URL (the emulator) or an app registration (fix: set "
            "SAKSPOST_GRAPH_TENANT_ID, SAKSPOST_GRAPH_CLIENT_ID and SAKSPOST_GRAPH_CLIENT_SECRET "
            "or SAKSPOST_GRAPH_CERTIFICATE_PATH)"
        )
    root = graph_root(base_url)
    http = httpx.AsyncClient(
        base_url=root,
        timeout=TIMEOUT,
        trust_env=base_url is None,
        event_hooks={"request": [_prefer_immutable_ids]},
    )
    count_graph_requests(http)
    options: dict[str, RequestOption] = {}
    if not retries:
        no_retry = RetryHandlerOption(max_retries=0, should_retry=False)
        options[RetryHandlerOption.get_key()] = no_retry
    http = GraphClientFactory.create_with_default_middleware(client=http, options=options)
    # After the middleware: one span per Graph call as the service asked for it, retries included.
    instrument(http)
    if app is None:
        return _client(StreamingGraphAdapter(AnonymousAuthenticationProvider(), http), root)
    # The token is added only to requests for Graph's own host (kiota checks each request's host).
    host = httpx.URL(root).host
    auth = AzureIdentityAuthenticationProvider(
        _credential(app), scopes=GRAPH_SCOPES, allowed_hosts=[host]
    )
    return _client(StreamingGraphAdapter(auth, http), root)


def graph_client_for(settings: Settings, retries: bool = True) -> GraphServiceClient:
    """The Graph client the `SAKSPOST_GRAPH_*` settings describe (the emulator or Microsoft 365)."""
    return make_graph_client(settings.graph_base_url, app=settings.graph_app(), retries=retries)


def _client(adapter: StreamingGraphAdapter, root: str) -> GraphServiceClient:
    # The adapter reads httpx's base_url, which httpx always ends with "/": URL templates start
    # with "/" too, which would give ".../v1.0//users". Set the root without the slash.
    adapter.base_url = root
    return GraphServiceClient(request_adapter=adapter)


async def get_mime(client: GraphServiceClient, user: str, message_id: str) -> bytes:
    """The raw MIME of a message exactly as Graph's `$value` returns it."""
    builder = client.users.by_user_id(user).messages.by_message_id(message_id)
    content = await builder.content.get()
    return content if isinstance(content, bytes) else b""


@dataclass(frozen=True)
class MimeDownload:
    sha256: str
    """Of the bytes written."""
    size: int
    """Bytes written."""
    complete: bool
    """False when the body went on past the cap: only its first `size` bytes were written."""


async def download_mime(
    client: GraphServiceClient, user: str, message_id: str, sink: BinaryIO, cap: int
) -> MimeDownload:
    """Stream a message's raw MIME (`$value`) into `sink`, at most `cap` bytes of it, hashing as
    it goes: memory holds one chunk, whatever the mail's size. Needs a client built here."""
    adapter = client.request_adapter
    if not isinstance(adapter, StreamingGraphAdapter):
        raise TypeError("download_mime needs a Graph client from make_graph_client")
    builder = client.users.by_user_id(user).messages.by_message_id(message_id).content
    request = builder.to_get_request_information()
    hasher = hashlib.sha256()
    size = 0
    complete = True
    async with adapter.stream(request, {"XXX": ODataError}) as response:
        async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK_BYTES):
            kept = chunk[: cap - size]
            sink.write(kept)
            hasher.update(kept)
            size += len(kept)
            if len(kept) < len(chunk):
                complete = False  # the rest is never read: closing the answer drops it
                break
    return MimeDownload(hasher.hexdigest(), size, complete)


async def send_mime(client: GraphServiceClient, user: str, raw: bytes) -> None:
    """Send RFC 5322 bytes as they are from `user`'s mailbox (Graph's MIME `sendMail`): the only
    way to set the Message-ID and our own headers. Build the client with `retries=False`."""
    builder = client.users.by_user_id(user).send_mail
    request = RequestInformation(Method.POST, builder.url_template, builder.path_parameters)
    request.set_stream_content(base64.b64encode(raw), "text/plain")
    await client.request_adapter.send_no_response_content_async(request, {"XXX": ODataError})
