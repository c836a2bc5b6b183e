"""How much of one mail is read into memory, and what is read of a mail larger than that.

Exchange Online takes messages of up to 150 MB, and parsing a mail takes several times its size in
memory. A mail over the parse cap (`SAKSPOST_MIME_PARSE_CAP_BYTES`) is therefore read only as far
as its header block: enough for its sender, recipients, subject and Message-ID. Its MIME is still
kept whole in the Object Store (R13), and its `received` event says it was too large to read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from services.common.mail import header_block
from services.common.settings import Settings

# The parse defects of a mail read only in part (in `received.parse_defects`).
TOO_LARGE_DEFECT = "too-large"
"""Over the parse cap: only its header block was parsed."""
TRUNCATED_DEFECT = "mime-truncated"
"""Over ingest's download cap: only its first bytes were downloaded and kept."""

# The defects a header block alone can show; the others (a multipart's missing boundary, no body)
# are only what reading no body looks like.
_HEADER_DEFECTS = ("header-", "charset-", "invalid-header", "misplaced-envelope-header")
MIB = 1024 * 1024


@dataclass(frozen=True)
class MimeParseLimits:
    parse_cap: int
    """Largest mail read and parsed whole."""
    header_cap: int
    """How much of a larger mail is read to find its header block."""

    @classmethod
    def from_settings(cls, settings: Settings) -> MimeParseLimits:
        return cls(settings.mime_parse_cap_bytes, settings.mime_header_cap_bytes)

    def oversize(self, size: int) -> bool:
        return size > self.parse_cap


class MailTooLarge(ValueError):
    """A mail over the parse cap, asked for whole."""


class MimeReader(Protocol):
    """What of the MIME store (`mimestore.py`) these reads use."""

    async def get(self, digest: str) -> bytes: ...

    async def get_prefix(self, digest: str, limit: int) -> bytes: ...

    async def size(self, digest: str) -> int: ...


def header_defects(defects: Iterable[str]) -> list[str]:
    """Of the defects found parsing a header block alone, those that are the mail's own."""
    return [defect for defect in defects if defect.startswith(_HEADER_DEFECTS)]


async def read_for_parse(
    store: MimeReader, digest: str, size: int, limits: MimeParseLimits
) -> bytes:
    """What a service parses of the stored mail `digest` of `size` bytes: the whole mail, or its
    header block when it is over the parse cap (`limits.oversize(size)`)."""
    if not limits.oversize(size):
        return await store.get(digest)
    return header_block(await store.get_prefix(digest, limits.header_cap))


async def read_whole(store: MimeReader, digest: str, limits: MimeParseLimits) -> bytes:
    """The whole stored mail `digest`; `MailTooLarge` (before any chunk is read) when it is over
    the parse cap: whoever needs all of it (filing it in the archive) must not load it."""
    size = await store.size(digest)
    if limits.oversize(size):
        raise MailTooLarge(
            f"the mail is {size / MIB:.1f} MiB, over the {limits.parse_cap / MIB:.1f} MiB "
            "read whole (SAKSPOST_MIME_PARSE_CAP_BYTES); file it by hand: its MIME is in the "
            f"Object Store as {digest}"
        )
    return await store.get(digest)
