"""The MIME store keeps a mail of any size in bounded memory (issue 16, finding 2): a put streams
from a file one chunk at a time, the size comes from the metadata alone, and the first bytes of a
mail can be read without the rest."""

from __future__ import annotations

import io
import random
from collections.abc import Awaitable, Callable

import pytest
from nats.aio.client import Client

from services.common.mimestore import CHUNK_BYTES, MimeObjectError, MimeStore, mime_sha256

Connect = Callable[[str], Awaitable[Client]]


class _CountingFile(io.BytesIO):
    """Remembers the largest read, to show the store never asks for the whole file."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.largest_read = max(self.largest_read, len(data))
        return data


def _mail(size: int) -> bytes:
    return random.Random(size).randbytes(size)


async def test_a_file_is_stored_chunk_by_chunk_and_read_back_whole(connect_as: Connect) -> None:
    store = MimeStore((await connect_as("ingest")).jetstream())
    raw = _mail(3 * CHUNK_BYTES + 17)
    source = _CountingFile(raw)
    digest = await store.put_file(source)
    assert digest == mime_sha256(raw)
    assert source.largest_read <= CHUNK_BYTES  # never the whole file in memory
    assert await store.get(digest) == raw
    assert await store.size(digest) == len(raw)
    # The same bytes as `put` stores them: one object, one name.
    assert await store.put(raw) == digest


async def test_a_prefix_reads_only_the_first_bytes(connect_as: Connect) -> None:
    store = MimeStore((await connect_as("ingest")).jetstream())
    raw = _mail(2 * CHUNK_BYTES + 5)
    digest = await store.put(raw)
    for limit in (1, CHUNK_BYTES, CHUNK_BYTES + 1, len(raw), len(raw) + 10):
        assert await store.get_prefix(digest, limit) == raw[:limit]


async def test_a_digest_that_does_not_match_the_bytes_stores_nothing(connect_as: Connect) -> None:
    store = MimeStore((await connect_as("ingest")).jetstream())
    raw = _mail(CHUNK_BYTES + 1)
    claimed = mime_sha256(b"something else")
    with pytest.raises(MimeObjectError):
        await store.put_file(io.BytesIO(raw), claimed)
    assert not await store.exists(claimed)
    assert not await store.exists(mime_sha256(raw))
