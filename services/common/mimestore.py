"""Raw MIME of every received mail in the Object Store, addressed by its SHA-256 (R13).

Content addressing makes the store idempotent: the same bytes always land under the same name, and
a second put of a known mail is skipped.

The store is write-once, and that does not rest on the writer's good behaviour. Its stream refuses
purges, deletes and roll-ups (`jetstream.py`), and this module reads an object from the *first*
metadata message ever written under its name and exactly the chunks that message counts, checked
against the SHA-256 that is the name. A later metadata message under the same name — an
overwrite, or the `deleted` marker nats-py's `ObjectStore.delete` writes — is never read, so not
even a stolen ingest credential can make a mail's MIME disappear or change. The layout is
nats-py's and the NATS CLI's (`$O.<bucket>.C.<nuid>` chunks, `$O.<bucket>.M.<name>` metadata), so
operators' tools still list and fetch objects; only nats-py's `put` cannot be used, because it
rolls the metadata up.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from nats.nuid import NUID

from services.common.jetstream import MIME_BUCKET

# nats-py reads a stream through an ordered consumer with no time limit: when nats-server restarts
# during a read, the read can wait forever, and the handler's progress acks then keep its message
# from ever being redelivered (found by `make chaos`). Bounded, the read fails with TimeoutError, a
# transient error, and the message is retried.
GET_TIMEOUT_SECONDS = 60.0
CHUNK_BYTES = 128 * 1024
PUBLISH_TIMEOUT_SECONDS = 10.0


class MimeObjectError(ValueError):
    """An object's stored metadata or bytes do not match its name."""


def mime_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


class MimeStore:
    def __init__(
        self,
        js: JetStreamContext,
        bucket: str = MIME_BUCKET,
        get_timeout_seconds: float = GET_TIMEOUT_SECONDS,
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._stream = f"OBJ_{bucket}"
        self._get_timeout = get_timeout_seconds

    def _meta_subject(self, digest: str) -> str:
        return f"$O.{self._bucket}.M.{_b64(digest.encode())}"

    async def _first_info(self, digest: str) -> api.ObjectInfo | None:
        """The object's first metadata message: the one that counts."""
        try:
            message = await self._js.get_msg(
                self._stream, seq=1, subject=self._meta_subject(digest), next=True, direct=True
            )
        except NotFoundError:
            return None
        if not message.data:  # a direct get answers "not found" with an empty message
            return None
        info: api.ObjectInfo = api.ObjectInfo.from_response(json.loads(message.data))
        return info

    async def put(self, raw: bytes) -> str:
        """Store `raw` (once) and return its SHA-256."""
        digest = mime_sha256(raw)
        if await self._first_info(digest) is not None:
            return digest
        nuid = NUID().next().decode()
        chunk_subject = f"$O.{self._bucket}.C.{nuid}"
        chunks = 0
        for start in range(0, len(raw), CHUNK_BYTES):
            await self._js.publish(
                chunk_subject,
                raw[start : start + CHUNK_BYTES],
                stream=self._stream,
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
            chunks += 1
        info = api.ObjectInfo(
            name=digest,
            bucket=self._bucket,
            nuid=nuid,
            size=len(raw),
            chunks=chunks,
            digest=f"SHA-256={_b64(hashlib.sha256(raw).digest())}",
            options=api.ObjectMetaOptions(max_chunk_size=CHUNK_BYTES),
        )
        # Two replicas storing the same mail at once both write; the first metadata counts and
        # the other's chunks stay unread (the stream never deletes).
        await self._js.publish(
            self._meta_subject(digest),
            json.dumps(info.as_dict()).encode(),
            stream=self._stream,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        return digest

    async def get(self, digest: str) -> bytes:
        return await asyncio.wait_for(self._read(digest), self._get_timeout)

    async def _read(self, digest: str) -> bytes:
        info = await self._first_info(digest)
        if info is None:
            raise NotFoundError(description=f"no MIME object {digest} in {self._bucket}")
        expected = info.chunks or 0
        parts: list[bytes] = []
        if expected:
            subscription = await self._js.subscribe(
                f"$O.{self._bucket}.C.{info.nuid}",
                stream=self._stream,
                ordered_consumer=True,
                deliver_policy=api.DeliverPolicy.ALL,
            )
            try:
                async for message in subscription.messages:
                    parts.append(message.data)
                    if len(parts) == expected:
                        break
            finally:
                await subscription.unsubscribe()
        data = b"".join(parts)
        if mime_sha256(data) != digest:
            raise MimeObjectError(f"object {digest} in {self._bucket} does not match its SHA-256")
        return data

    async def exists(self, digest: str) -> bool:
        return await self._first_info(digest) is not None
