"""The key under which a service keeps what it knows of a Graph conversation."""

from __future__ import annotations

import hashlib


def conversation_key(conversation_id: str) -> str:
    """A KV-safe key for a Graph conversation id: the id holds characters ('+', '/', '=') that a
    KV key may not, and a digest always fits. Each store puts its own prefix before it."""
    return hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:40]
