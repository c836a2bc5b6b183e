"""The record of the router's own Outlook write-backs, which ingest reads.

When the router PATCHes a message it stores the change key Graph answered under
`writeback.<graph id>` in its own bucket `sakspost_writebacks` (one writer per bucket: ingest only
reads it); when Graph's `updated` notification for that change
comes back, ingest finds the same change key there and skips it without a Graph read (no loop, no
extra read). Both services name and read the key with these functions.

Graph may notify before the PATCH's answer reaches the router, so the router first marks the
message `pending` and ingest waits (a short transient retry) while the mark is fresh, instead of
reading the message and publishing our own change as a human's. A mark left by a failed PATCH
expires by itself; after a PATCH Graph refused (412, 404) the router puts its previous value back.

With the change key the router stores what it wrote (categories and flag). Ingest skips our echo
without reading the message, so what it last read may be older than our write; a person who then
puts back exactly that older state changed the message all the same, and only a comparison with
what we wrote shows it. A plain change key (values stored before this) still reads.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

# Graph ids are URL-safe base64 and usable as KV key tokens as they are; any other id is digested.
_KV_SAFE = re.compile(r"^[A-Za-z0-9_=-]{1,900}$")


def graph_id_token(graph_id: str) -> str:
    """A KV key token for a Graph id: the id itself when KV allows it, else its digest."""
    if _KV_SAFE.match(graph_id):
        return graph_id
    return "h" + hashlib.sha256(graph_id.encode("utf-8")).hexdigest()


def writeback_key(graph_message_id: str) -> str:
    return f"writeback.{graph_id_token(graph_message_id)}"


PENDING_PREFIX = "pending:"
# Longer than a PATCH normally takes, short enough that a crashed router delays nothing for long.
PENDING_SECONDS = 30.0


def pending_marker(now: float) -> bytes:
    return f"{PENDING_PREFIX}{now:.3f}".encode()


@dataclass(frozen=True)
class WrittenBack:
    """What the router last wrote to a message: its change key, or that a write is under way."""

    change_key: str | None
    pending: bool
    categories: tuple[str, ...] | None = None
    """The categories our write left on the message; None when not known."""
    flag_status: str | None = None


def written_marker(change_key: str, categories: Sequence[str], flag_status: str) -> bytes:
    """The value after a write: its change key and what it put on the message."""
    data = {"changeKey": change_key, "categories": list(categories), "flagStatus": flag_status}
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _read_written(text: str) -> WrittenBack:
    try:
        data = json.loads(text)
    except ValueError:
        return WrittenBack(None, pending=False)
    if not isinstance(data, dict) or not isinstance(data.get("changeKey"), str):
        return WrittenBack(None, pending=False)
    listed = data.get("categories")
    categories: tuple[str, ...] | None = None
    if isinstance(listed, list) and all(isinstance(c, str) for c in listed):
        categories = tuple(listed)
    flag = data.get("flagStatus")
    return WrittenBack(
        data["changeKey"] or None,
        pending=False,
        categories=categories,
        flag_status=flag if isinstance(flag, str) else None,
    )


def read_writeback(value: bytes | None, now: float) -> WrittenBack:
    text = (value or b"").decode("utf-8", "replace").strip()
    if text.startswith(PENDING_PREFIX):
        try:
            since = float(text.removeprefix(PENDING_PREFIX))
        except ValueError:
            return WrittenBack(None, pending=False)
        return WrittenBack(None, pending=now - since < PENDING_SECONDS)
    if text.startswith("{"):
        return _read_written(text)
    return WrittenBack(text or None, pending=False)


class WritebackLog:
    """The router's record of its write-backs, as ingest reads it (the router is its writer)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def written_back(self, graph_id: str) -> WrittenBack:
        """The router's last write-back to this message: its change key, or one under way."""
        try:
            entry = await self._kv.get(writeback_key(graph_id))
        except KeyNotFoundError:
            return read_writeback(None, time.time())
        return read_writeback(entry.value, time.time())
