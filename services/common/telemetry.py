"""OpenTelemetry tracing whose context travels in NATS headers.

FastStream's telemetry middleware injects W3C `traceparent` into every published message and
continues it on the consumer side, so one mail can be followed across every service in one trace.
The exporter is chosen by `SAKSPOST_OTEL_EXPORTER`: none, console (one JSON line per span on
stdout), or otlp (which reads the standard `OTEL_EXPORTER_OTLP_*` variables for its endpoint and
headers). Every exported span first passes the privacy guard (`spanprivacy.py`).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from services.common.spanprivacy import PrivateSpanExporter


def _one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


def _exporter(kind: str) -> SpanExporter | None:
    if kind == "console":
        # One JSON object per line on stdout: the span lines sit between the JSON log lines in a
        # service's log file and are read back line by line (`tests/support/traces.py`).
        return ConsoleSpanExporter(formatter=_one_line)
    if kind == "otlp":
        # Imported here: the OTLP exporter pulls in protobuf, which a none/console run never needs.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return None


def configure_tracing(service: str, exporter: str) -> TracerProvider:
    """A tracer provider for this process; spans propagate even when nothing exports them."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"sakspost-{service}"}))
    span_exporter = _exporter(exporter)
    if span_exporter is not None:
        # Every span passes the privacy guard, whichever library made it.
        span_exporter = PrivateSpanExporter(span_exporter)
        processor = (
            SimpleSpanProcessor(span_exporter)
            if exporter == "console"
            else BatchSpanProcessor(span_exporter)
        )
        provider.add_span_processor(processor)
    # The global provider can be set once per process; later brokers (tests run several services
    # in one process) pass their own provider to FastStream's middleware explicitly.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)
    return provider
