"""Raw MIME of every received mail in the Object Store, addressed by its SHA-256 (R13).

Content addressing makes the store idempotent: the same bytes always land under the same name, and
a second put of a known mail is skipped.
"""

from __future__ import annotations

import hashlib

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError

from services.common.jetstream import MIME_BUCKET


def mime_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class MimeStore:
    def __init__(self, js: JetStreamContext, bucket: str = MIME_BUCKET) -> None:
        self._js = js
        self._bucket = bucket

    async def put(self, raw: bytes) -> str:
        """Store `raw` (once) and return its SHA-256."""
        digest = mime_sha256(raw)
        store = await self._js.object_store(self._bucket)
        try:
            await store.get_info(digest)
        except (ObjectNotFoundError, NotFoundError):
            await store.put(digest, raw)
        return digest

    async def get(self, digest: str) -> bytes:
        store = await self._js.object_store(self._bucket)
        result = await store.get(digest)
        data = result.data or b""
        if mime_sha256(data) != digest:
            raise ValueError(f"object {digest} in {self._bucket} does not match its SHA-256")
        return data

    async def exists(self, digest: str) -> bool:
        store = await self._js.object_store(self._bucket)
        try:
            await store.get_info(digest)
        except (ObjectNotFoundError, NotFoundError):
            return False
        return True
