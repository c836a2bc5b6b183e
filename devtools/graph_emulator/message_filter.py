"""The few `$filter` forms the emulator understands on message lists (others get 400)."""

from __future__ import annotations

import re
from collections.abc import Callable

from devtools.graph_emulator.clock import parse_graph_datetime
from devtools.graph_emulator.errors import bad_request
from devtools.graph_emulator.store import StoredMessage

Predicate = Callable[[StoredMessage], bool]
_MESSAGE_ID = re.compile(r"^internetMessageId eq '((?:[^']|'')*)'$", re.IGNORECASE)
_RECEIVED = re.compile(r"^receivedDateTime (ge|gt|le|lt) (\S+)$", re.IGNORECASE)


def _clause(text: str) -> Predicate:
    if match := _MESSAGE_ID.match(text):
        wanted = match.group(1).replace("''", "'")
        return lambda m: m.fields.internet_message_id == wanted
    if match := _RECEIVED.match(text):
        operator = match.group(1).lower()
        try:
            when = parse_graph_datetime(match.group(2))
        except ValueError:
            raise bad_request(f"Invalid date in $filter: '{match.group(2)}'.") from None
        comparisons: dict[str, Predicate] = {
            "ge": lambda m: m.received >= when,
            "gt": lambda m: m.received > when,
            "le": lambda m: m.received <= when,
            "lt": lambda m: m.received < when,
        }
        return comparisons[operator]
    raise bad_request(
        f"The emulator does not support the filter '{text}' (supported: internetMessageId eq "
        "'…', receivedDateTime ge|gt|le|lt …, joined with 'and').",
        code="ErrorInvalidUrlQueryFilter",
    )


def parse_filter(text: str | None) -> Predicate:
    if not text:
        return lambda _message: True
    clauses = [_clause(part.strip()) for part in re.split(r"\s+and\s+", text.strip(), flags=re.I)]
    return lambda message: all(clause(message) for clause in clauses)
