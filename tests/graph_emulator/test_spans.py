"""Graph's client spans hold no person's address, message id or query string."""

from __future__ import annotations

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devtools.graph_emulator import RunningEmulator
from services.common.graph import get_mime, make_graph_client
from services.common.httpspans import templated_path
from tests.graph_emulator.conftest import PERSONAL, deliver, raw_mail


def _memory_exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


def test_variable_segments_are_templated() -> None:
    path = f"/v1.0/users/{PERSONAL}/mailFolders/inbox/messages/AAMkAGI2-1/$value"
    assert templated_path(path) == "/v1.0/users/{id}/mailFolders/{id}/messages/{id}/$value"
    assert templated_path("/api/v1/cases/2026000123/journalposts") == (
        "/api/v1/cases/{id}/journalposts"
    )


async def test_graph_spans_hold_no_address_id_or_query(
    emulator: RunningEmulator, admin: httpx.AsyncClient
) -> None:
    memory = _memory_exporter()
    graph = make_graph_client(emulator.graph_url)
    message_id = await deliver(admin, PERSONAL, raw_mail("Søknad om løyve", to=PERSONAL))
    await graph.users.by_user_id(PERSONAL).messages.get()
    await get_mime(graph, PERSONAL, message_id)
    spans = [span for span in memory.get_finished_spans() if span.kind == trace.SpanKind.CLIENT]
    names = {span.name for span in spans}
    assert "GET /v1.0/users/{id}/messages" in names
    assert "GET /v1.0/users/{id}/messages/{id}/$value" in names
    for span in spans:
        text = repr(dict(span.attributes or {})) + span.name
        for secret in (PERSONAL, PERSONAL.split("@")[0], message_id, "%40", "?", "$select"):
            assert secret not in text, (secret, text)
        assert span.attributes is not None
        assert span.attributes.get("http.method", span.attributes.get("http.request.method"))
        assert (
            span.attributes.get(
                "http.status_code", span.attributes.get("http.response.status_code")
            )
            == 200
        )
        assert httpx.URL(str(span.attributes.get("http.url"))).host
