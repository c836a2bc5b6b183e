"""Spans and log lines read back from a stack's log files (`SAKSPOST_OTEL_EXPORTER=console`).

Each service writes one JSON line per span on stdout and one JSON line per log record on stderr,
both into `logs/<component>.log`; a span line has a `context`, a log line an `event`. Ids are
normalised to plain lower-case hex (the console exporter writes `0x…`, log lines plain hex).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _hex(value: object) -> str:
    return str(value).removeprefix("0x").lower()


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: dict[str, Any]


@dataclass(frozen=True)
class LogLine:
    service: str
    fields: dict[str, Any]


def _json_lines(logs: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(logs.glob("*.log")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield path.stem, record


@dataclass
class Traces:
    spans: dict[str, Span]
    lines: list[LogLine]

    @classmethod
    def read(cls, logs: Path) -> Traces:
        spans: dict[str, Span] = {}
        lines: list[LogLine] = []
        for service, record in _json_lines(logs):
            context = record.get("context")
            if isinstance(context, dict) and "span_id" in context:
                parent = record.get("parent_id")
                span = Span(
                    service,
                    record["name"],
                    record["kind"],
                    _hex(context["trace_id"]),
                    _hex(context["span_id"]),
                    _hex(parent) if parent else None,
                    record.get("attributes") or {},
                )
                spans[span.span_id] = span
            elif "event" in record:
                lines.append(LogLine(service, record))
        return cls(spans, lines)

    def find(self, predicate: Callable[[Span], bool]) -> list[Span]:
        return [span for span in self.spans.values() if predicate(span)]

    def ancestors(self, span: Span) -> list[Span]:
        """The span's parent, its parent's parent, … up to the root (across services)."""
        chain: list[Span] = []
        parent = span.parent_id
        while parent is not None and parent in self.spans:
            chain.append(self.spans[parent])
            parent = self.spans[parent].parent_id
        return chain

    def descendants(self, span: Span) -> list[Span]:
        children: dict[str, list[Span]] = {}
        for other in self.spans.values():
            if other.parent_id is not None:
                children.setdefault(other.parent_id, []).append(other)
        found: list[Span] = []
        waiting = [span.span_id]
        while waiting:
            for child in children.get(waiting.pop(), []):
                found.append(child)
                waiting.append(child.span_id)
        return found

    def processing(self, service: str, message_id: str) -> list[Span]:
        """The consumer spans in which `service` handled the message with this Nats-Msg-Id."""
        return self.find(
            lambda span: (
                span.service == service
                and span.kind == "SpanKind.CONSUMER"
                and span.attributes.get("messaging.message.id") == message_id
            )
        )
