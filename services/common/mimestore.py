"""Raw MIME of every received mail in the Object Store, addressed by its SHA-256 (R13).

Content addressing makes the store idempotent: the same bytes always land under the same name, and
a second put of a known mail is skipped.

Memory stays bounded whatever a mail's size (Exchange Online takes up to 150 MB): `put_file` streams
from a file one chunk at a time, `size` reads the metadata alone, and `get_prefix` reads only the
chunks that hold a mail's first bytes.

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
import io
import json
from collections.abc import AsyncGenerator
from typing import BinaryIO

from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from nats.nuid import NUID
from opentelemetry import trace

from services.common.jetstream import MIME_BUCKET

# nats-py reads a stream through an ordered consumer with no time limit: when nats-server restarts
# during a read, the read can wait forever, and the handler's progress acks then keep its message
# from ever being redelivered (found by `make chaos`). Bounded, the read fails with TimeoutError, a
# transient error, and the message is retried.
GET_TIMEOUT_SECONDS = 60.0
CHUNK_BYTES = 128 * 1024
PUBLISH_TIMEOUT_SECONDS = 10.0
# Spans name an object by the start of its SHA-256 (enough to find it, never its content) and size.
_tracer = trace.get_tracer(__name__)
HASH_PREFIX = "sakspost.mime.sha256_prefix"
HASH_PREFIX_LENGTH = 12
SIZE = "sakspost.mime.bytes"


class MimeObjectError(ValueError):
    """An object's stored metadata or bytes do not match its name."""


def mime_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _file_sha256(source: BinaryIO) -> str:
    """The SHA-256 of a seekable file from its start, read in chunks; the file is left at 0."""
    hasher = hashlib.sha256()
    source.seek(0)
    while chunk := source.read(CHUNK_BYTES):
        hasher.update(chunk)
    source.seek(0)
    return hasher.hexdigest()


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
        return await self.put_file(io.BytesIO(raw), mime_sha256(raw))

    async def put_file(self, source: BinaryIO, digest: str | None = None) -> str:
        """Store a seekable file's bytes from its start (once), CHUNK_BYTES at a time, and return
        their SHA-256: `digest` when the caller hashed them already (a download), else hashed here.

        Memory stays at one chunk whatever the size. The bytes are hashed again while they are
        sent, and a mismatch writes no metadata, so no object ever names bytes it does not hold.
        """
        with _tracer.start_as_current_span("MIME store put") as span:
            if digest is None:
                digest = _file_sha256(source)
            span.set_attribute(HASH_PREFIX, digest[:HASH_PREFIX_LENGTH])
            if await self._first_info(digest) is not None:
                span.set_attribute("sakspost.mime.stored", False)
                return digest
            size = await self._write(source, digest)
            span.set_attributes({"sakspost.mime.stored": True, SIZE: size})
            return digest

    async def _write(self, source: BinaryIO, digest: str) -> int:
        """Send the chunks and then the first metadata; the number of bytes stored."""
        source.seek(0)
        nuid = NUID().next().decode()
        chunk_subject = f"$O.{self._bucket}.C.{nuid}"
        hasher = hashlib.sha256()
        chunks = size = 0
        while chunk := source.read(CHUNK_BYTES):
            hasher.update(chunk)
            await self._js.publish(
                chunk_subject, chunk, stream=self._stream, timeout=PUBLISH_TIMEOUT_SECONDS
            )
            chunks += 1
            size += len(chunk)
        if hasher.hexdigest() != digest:
            raise MimeObjectError(f"the bytes sent for {digest} have another SHA-256")
        info = api.ObjectInfo(
            name=digest,
            bucket=self._bucket,
            nuid=nuid,
            size=size,
            chunks=chunks,
            digest=f"SHA-256={_b64(hasher.digest())}",
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
        return size

    async def size(self, digest: str) -> int:
        """The object's size in bytes, from its metadata alone (no chunk is read)."""
        return (await self._info(digest)).size or 0

    async def get(self, digest: str) -> bytes:
        with _tracer.start_as_current_span(
            "MIME store get", attributes={HASH_PREFIX: digest[:HASH_PREFIX_LENGTH]}
        ) as span:
            data = await asyncio.wait_for(self._read(digest), self._get_timeout)
            span.set_attribute(SIZE, len(data))
            return data

    async def get_prefix(self, digest: str, limit: int) -> bytes:
        """At most the first `limit` bytes, reading only the chunks that hold them (the header
        block of a mail too large to read whole). Unlike `get` this cannot check the SHA-256."""
        with _tracer.start_as_current_span(
            "MIME store get prefix", attributes={HASH_PREFIX: digest[:HASH_PREFIX_LENGTH]}
        ) as span:
            data = await asyncio.wait_for(self._read_prefix(digest, limit), self._get_timeout)
            span.set_attribute(SIZE, len(data))
            return data

    async def _info(self, digest: str) -> api.ObjectInfo:
        info = await self._first_info(digest)
        if info is None:
            raise NotFoundError(description=f"no MIME object {digest} in {self._bucket}")
        return info

    async def _chunks(self, info: api.ObjectInfo) -> AsyncGenerator[bytes]:
        """The object's chunks in order: exactly as many as its first metadata counts."""
        expected = info.chunks or 0
        if not expected:
            return
        subscription = await self._js.subscribe(
            f"$O.{self._bucket}.C.{info.nuid}",
            stream=self._stream,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.ALL,
        )
        try:
            read = 0
            async for message in subscription.messages:
                yield message.data
                read += 1
                if read == expected:
                    break
        finally:
            await subscription.unsubscribe()

    async def _read(self, digest: str) -> bytes:
        data = b"".join([chunk async for chunk in self._chunks(await self._info(digest))])
        if mime_sha256(data) != digest:
            raise MimeObjectError(f"object {digest} in {self._bucket} does not match its SHA-256")
        return data

    async def _read_prefix(self, digest: str, limit: int) -> bytes:
        parts: list[bytes] = []
        read = 0
        chunks = self._chunks(await self._info(digest))
        try:
            async for chunk in chunks:
                parts.append(chunk[: limit - read])
                read += len(parts[-1])
                if read >= limit:
                    break
        finally:
            await chunks.aclose()  # unsubscribes at once, not when the generator is collected
        return b"".join(parts)

    async def exists(self, digest: str) -> bool:
        return await self._first_info(digest) is not None
