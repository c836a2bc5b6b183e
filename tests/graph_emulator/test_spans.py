"""Graph's spans (the httpx client spans and msgraph-sdk's own) hold no person's address, message
id or query string once they pass the privacy guard every exporter sits behind."""

from __future__ import annotations

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devtools.graph_emulator import RunningEmulator
from services.common.graph import get_mime, make_graph_client
from services.common.spanprivacy import PrivateSpanExporter, templated_path
from tests.graph_emulator.conftest import PERSONAL, deliver, raw_mail


def _memory_exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    memory = InMemorySpanExporter()
    # As configure_tracing exports: through the privacy guard.
    provider.add_span_processor(SimpleSpanProcessor(PrivateSpanExporter(memory)))
    return memory


def test_variable_segments_are_templated() -> None:
    path = f"/v1.0/users/{PERSONAL}/mailFolders/inbox/messages/AAMkAGI2-1/$value"
    assert templated_path(path) == "/v1.0/users/{id}/mailFolders/{id}/messages/{id}/$value"
    assert templated_path("/v1.0/users/post@ha.kommune.no/mailFolders/inbox/messages/delta()") == (
        "/v1.0/users/{id}/mailFolders/{id}/messages/delta()"
    )
    assert templated_path("/api/v1/cases/2026000123/journalposts") == (
        "/api/v1/cases/{id}/journalposts"
    )


async def test_graph_spans_hold_no_address_id_or_query(
    emulator: RunningEmulator, admin: httpx.AsyncClient
) -> None:
    memory = _memory_exporter()
    graph = make_graph_client(emulator.graph_url)
    message_id = await deliver(admin, PERSONAL, raw_mail("Søknad om løyve", to=PERSONAL))
    # A query names what is read: it must not reach a span either.
    query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(select=["subject"])
    await graph.users.by_user_id(PERSONAL).messages.get(
        RequestConfiguration(query_parameters=query)
    )
    await get_mime(graph, PERSONAL, message_id)
    spans = memory.get_finished_spans()
    names = {span.name for span in spans if span.kind == trace.SpanKind.CLIENT}
    assert "GET /v1.0/users/{id}/messages" in names
    assert "GET /v1.0/users/{id}/messages/{id}/$value" in names
    for span in spans:
        text = repr(dict(span.attributes or {})) + span.name + repr(span.events)
        for secret in (PERSONAL, PERSONAL.split("@")[0], message_id, "%40"):
            assert secret not in text, (secret, text)
        for key in ("http.url", "url.full", "http.target", "url.path"):
            assert "?" not in str((span.attributes or {}).get(key, "")), span.attributes
    # What an operator needs is kept: method, host, templated path and status.
    for span in spans:
        if span.kind != trace.SpanKind.CLIENT:
            continue
        assert span.attributes is not None
        assert span.attributes["http.method"] == "GET"
        assert span.attributes["http.status_code"] == 200
        url = httpx.URL(str(span.attributes["http.url"]))
        assert url.host == "127.0.0.1" and url.path.startswith("/v1.0/users/{id}/messages")


def test_an_error_naming_a_person_is_not_exported_with_the_span() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(PrivateSpanExporter(memory)))
    failure = f"Client error '404 Not Found' for url '/v1.0/users/{PERSONAL}/messages/AAMk1'"
    with provider.get_tracer("test").start_as_current_span("GET") as span:
        span.record_exception(RuntimeError(failure))
        span.set_status(trace.Status(trace.StatusCode.ERROR, failure))
        span.set_attribute("url.query", "$filter=from/emailAddress/address eq 'ola@example.no'")
    (exported,) = memory.get_finished_spans()
    text = repr(exported.attributes) + repr([e.attributes for e in exported.events])
    text += str(exported.status.description)
    assert PERSONAL not in text and "AAMk1" not in text and "ola@" not in text
    assert exported.events[0].attributes is not None
    assert exported.events[0].attributes["exception.type"] == "RuntimeError"
