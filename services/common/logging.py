"""structlog JSON logging with a redaction processor.

Logs must never hold mail bodies, citizens' addresses or identity numbers (privacy rules of the
routine and Norwegian law). The processor below removes them whatever a caller passes, so that one
careless log line cannot leak them: body-like keys are dropped, identity-number-like digit runs and
e-mail addresses outside the organisation's own domains are masked, in every string value.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

from services.common.idnumbers import mask_identity_numbers

REDACTED = "[redacted]"
# Keys whose values are mail content by nature: never logged, whatever they hold.
BODY_KEYS = frozenset(
    {"body", "text", "html", "content", "mime", "raw", "payload", "preview", "body_preview"}
)
ID_NUMBER_MASK = "[id-number]"
# Account numbers grouped 4-2-5 are masked too: they identify a person just as well.
_ACCOUNT_NUMBER = re.compile(r"(?<!\d)\d{4}[ .\u00a0\u202f]\d{2}[ .\u00a0\u202f]\d{5}(?!\d)")
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


class Redactor:
    """A structlog processor that masks personal data in every value of an event."""

    def __init__(self, allowed_domains: Iterable[str] = ()) -> None:
        self._allowed = {domain.lower() for domain in allowed_domains}

    def _mask_address(self, match: re.Match[str]) -> str:
        domain = match.group(1).lower()
        if domain in self._allowed or any(domain.endswith("." + a) for a in self._allowed):
            return match.group(0)
        return "[address]"

    def redact(self, value: Any) -> Any:
        if isinstance(value, str):
            numbers = _ACCOUNT_NUMBER.sub(
                ID_NUMBER_MASK, mask_identity_numbers(value, ID_NUMBER_MASK)
            )
            return _ADDRESS.sub(self._mask_address, numbers)
        if isinstance(value, dict):
            return {
                key: REDACTED if str(key).lower() in BODY_KEYS else self.redact(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(item) for item in value]
        if isinstance(value, bytes | bytearray):
            return f"<{len(value)} bytes>"
        return value

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            if key.lower() in BODY_KEYS:
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self.redact(event_dict[key])
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
