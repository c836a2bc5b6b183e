"""structlog JSON logging with a redaction processor.

Logs must never hold mail bodies, citizens' addresses or identity numbers (privacy rules of the
routine and Norwegian law). The processor below removes them whatever a caller passes, so that one
careless log line cannot leak them:

- a key that names mail content (`body`, `mail_body`, `html_body`, `subject`, `text`, `html`,
  anything ending in one of `CONTENT_KEY_ENDINGS`) has its value dropped, at any depth;
- pydantic models and dataclasses are logged as their fields, redacted alike, never raw; any
  other object is logged as its redacted repr, and in every string a repr's or a pydantic error's
  content fields (`subject='...'`, `input_value='...'`) are dropped;
- in every string, identity-number-like digits (in any grouping, `mask_identity_numbers`) and
  account numbers are masked, and so are e-mail addresses outside the organisation's own domains,
  also when written URL-encoded (`ola%40example.no`), as HTML entities or as `ola(at)example.no`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import structlog
from opentelemetry import trace
from pydantic import BaseModel

from services.common.idnumbers import mask_identity_numbers

REDACTED = "[redacted]"
# Keys whose values are mail content by nature: never logged, whatever they hold. A key is content
# when it ends in one of these (case and separators ignored: `mail_body`, `htmlBody`, `subject`).
CONTENT_KEY_ENDINGS = (
    "body",
    "subject",
    "text",
    "html",
    "content",
    "mime",
    "raw",
    "payload",
    "preview",
    "title",
    "filename",
    "input_value",
)
ID_NUMBER_MASK = "[id-number]"
ADDRESS_MASK = "[address]"
# How deep nested values are followed; deeper ones are dropped (and a cycle cannot loop).
MAX_DEPTH = 8
# structlog's own bookkeeping in the standard library's path, removed before rendering.
_META_KEYS = frozenset({"_record", "_from_structlog"})
_CONTENT_KEY = re.compile(
    "(?:" + "|".join(ending.replace("_", "") for ending in CONTENT_KEY_ENDINGS) + ")$"
)
# A content field in a repr or a pydantic error: `subject='...'`, `body="..."`, `input_value=...`.
_CONTENT_IN_REPR = re.compile(
    r"\b(?P<key>\w*(?:"
    + "|".join(CONTENT_KEY_ENDINGS)
    + r"))=(?:'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|b'(?:\\.|[^'\\])*')",
    re.IGNORECASE,
)
# Account numbers grouped 4-2-5 are masked too: they identify a person just as well.
_ACCOUNT_NUMBER = re.compile(r"(?<!\d)\d{4}[ .\u00a0\u202f]\d{2}[ .\u00a0\u202f]\d{5}(?!\d)")
# The "@" of an address as it is also written: URL-encoded (once or twice), as an HTML entity, or
# spelt out. Lengths are bounded (RFC 5321: 64 for the local part, 63 per label) so that a long run
# of letters costs linear time.
_AT = r"(?:@|%40|%2540|&#0*64;|&#x0*40;|\s?[(\[{]at[)\]}]\s?)"
_ADDRESS = re.compile(
    rf"[A-Za-z0-9._%+'-]{{1,64}}{_AT}([A-Za-z0-9-]{{1,63}}(?:\.[A-Za-z0-9-]{{1,63}})+)",
    re.IGNORECASE,
)


def is_content_key(key: object) -> bool:
    """Whether a key names mail content, whatever its case and separators."""
    normalised = re.sub(r"[^a-z0-9]", "", str(key).lower())
    return _CONTENT_KEY.search(normalised) is not None


class Redactor:
    """A structlog processor that masks personal data in every value of an event."""

    def __init__(self, allowed_domains: Iterable[str] = ()) -> None:
        self._allowed = {domain.lower() for domain in allowed_domains}

    def _mask_address(self, match: re.Match[str]) -> str:
        domain = match.group(1).lower()
        if domain in self._allowed or any(domain.endswith("." + a) for a in self._allowed):
            return match.group(0)
        return ADDRESS_MASK

    def _redact_text(self, text: str) -> str:
        text = _CONTENT_IN_REPR.sub(lambda m: f"{m.group('key')}={REDACTED}", text)
        numbers = _ACCOUNT_NUMBER.sub(ID_NUMBER_MASK, mask_identity_numbers(text, ID_NUMBER_MASK))
        return _ADDRESS.sub(self._mask_address, numbers)

    def _redact_fields(self, fields: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
        return {
            key: REDACTED if is_content_key(key) else self.redact(item, depth + 1)
            for key, item in fields.items()
        }

    def redact(self, value: Any, depth: int = 0) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self._redact_text(value)
        if depth >= MAX_DEPTH:
            return REDACTED
        if isinstance(value, Mapping):
            return self._redact_fields(value, depth)
        if isinstance(value, BaseModel):
            fields = {name: getattr(value, name) for name in type(value).model_fields}
            return {"model": type(value).__name__, **self._redact_fields(fields, depth)}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return {"dataclass": type(value).__name__, **self._redact_fields(fields, depth)}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(item, depth + 1) for item in value]
        if isinstance(value, bytes | bytearray):
            return f"<{len(value)} bytes>"
        # Anything else would be rendered by its repr, which may hold mail content.
        return self._redact_text(repr(value))

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            if key in _META_KEYS:
                continue
            if is_content_key(key):
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self.redact(event_dict[key])
        return event_dict


def add_trace_ids(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """`trace_id` and `span_id` (hex, as trace viewers show them) of the current span, so a log
    line leads to its mail's trace."""
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict["trace_id"] = format(span.trace_id, "032x")
        event_dict["span_id"] = format(span.span_id, "016x")
    return event_dict


def configure_logging(
    service: str,
    level: str = "info",
    log_format: str = "json",
    allowed_domains: Iterable[str] = (),
) -> None:
    """Configure structlog (and the standard library's loggers) for one process."""
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    redactor = Redactor(allowed_domains)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
        # After the redactor: the ids are random hex, and one with eleven digits in a row can
        # pass the identity-number check and be masked, breaking the link to the trace.
        add_trace_ids,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries (FastStream, uvicorn, httpx) log through the standard library: route them through
    # the same redaction and format, so nothing escapes unredacted.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(numeric_level, logging.WARNING))
