"""The record of the router's own Outlook write-backs, which ingest reads.

When the router PATCHes a message it stores the change key Graph answered under
`writeback.<graph id>` in the ingest bucket; when Graph's `updated` notification for that change
comes back, ingest finds the same change key there and skips it without a Graph read (no loop, no
extra read). Both services name the key with these functions.
"""

from __future__ import annotations

import hashlib
import re

from services.common.jetstream import INGEST_BUCKET

WRITEBACK_BUCKET = INGEST_BUCKET
# Graph ids are URL-safe base64 and usable as KV key tokens as they are; any other id is digested.
_KV_SAFE = re.compile(r"^[A-Za-z0-9_=-]{1,900}$")


def graph_id_token(graph_id: str) -> str:
    """A KV key token for a Graph id: the id itself when KV allows it, else its digest."""
    if _KV_SAFE.match(graph_id):
        return graph_id
    return "h" + hashlib.sha256(graph_id.encode("utf-8")).hexdigest()


def writeback_key(graph_message_id: str) -> str:
    return f"writeback.{graph_id_token(graph_message_id)}"
