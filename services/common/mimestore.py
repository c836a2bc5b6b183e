"""Raw MIME of every received mail in the Object Store, addressed by its SHA-256 (R13).

Content addressing makes the store idempotent: the same bytes always land under the same name, and
a second put of a known mail is skipped.
"""

from __future__ import annotations

import asyncio
import hashlib

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError

from services.common.jetstream import MIME_BUCKET

# nats-py's `ObjectStore.get` reads the chunks from an ordered consumer with no time limit: when
# nats-server restarts during a read, the read can wait forever, and the handler's progress acks
# then keep its message from ever being redelivered (found by `make chaos`). Bounded, the read
# fails with TimeoutError, a transient error, and the message is retried.
GET_TIMEOUT_SECONDS = 60.0


def mime_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class MimeStore:
    def __init__(
        self,
        js: JetStreamContext,
        bucket: str = MIME_BUCKET,
        get_timeout_seconds: float = GET_TIMEOUT_SECONDS,
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._get_timeout = get_timeout_seconds

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
        result = await asyncio.wait_for(store.get(digest), self._get_timeout)
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
