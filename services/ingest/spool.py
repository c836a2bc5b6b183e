"""A message's MIME from Graph into the Object Store through a spool file, in bounded memory.

The download goes into a spooled temporary file (in memory up to a small size, then on disk; always
removed), hashed as it arrives; the Object Store reads it back chunk by chunk. Only what is parsed
is ever held whole: the mail itself up to the parse cap, else its header block (`mimelimits.py`).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import structlog

from services.common.graph import MimeDownload
from services.common.mail import header_block
from services.common.mimelimits import MimeParseLimits
from services.common.mimestore import MimeStore
from services.common.received import StoredMime
from services.ingest.config import IngestSettings
from services.ingest.gateway import GraphGateway

log = structlog.get_logger(__name__)
MIB = 1024 * 1024


@dataclass(frozen=True)
class SpoolLimits:
    download_cap: int
    memory_bytes: int
    directory: Path | None
    parse: MimeParseLimits

    @classmethod
    def from_settings(cls, ingest: IngestSettings, parse: MimeParseLimits) -> SpoolLimits:
        return cls(
            ingest.mime_download_cap_bytes,
            ingest.mime_spool_memory_bytes,
            ingest.mime_spool_dir,
            parse,
        )


@dataclass(frozen=True)
class SpooledMime:
    file: BinaryIO
    download: MimeDownload
    raw_for_parse: bytes
    """The whole mail, or for a mail over the parse cap (or the download cap) its header block."""
    oversize: bool

    @property
    def stored(self) -> StoredMime:
        """The MIME as kept; `raw_for_parse` is only its header block when it is oversize."""
        return StoredMime(
            self.download.sha256,
            self.download.size,
            oversize=self.oversize,
            # Over the download cap: only its first bytes were downloaded, and are kept.
            truncated=not self.download.complete,
        )

    async def keep(self, store: MimeStore) -> str:
        """Store the downloaded bytes (once) in the Object Store; their SHA-256."""
        return await store.put_file(self.file, self.download.sha256)


@asynccontextmanager
async def spooled_mime(
    gateway: GraphGateway, mailbox: str, message_id: str, limits: SpoolLimits
) -> AsyncIterator[SpooledMime]:
    """Download the message's MIME into a spool file that lives as long as the context."""
    directory = str(limits.directory) if limits.directory is not None else None
    with tempfile.SpooledTemporaryFile(max_size=limits.memory_bytes, dir=directory) as spool:
        file = cast(BinaryIO, spool)
        download = await gateway.download_mime(mailbox, message_id, file, limits.download_cap)
        oversize = not download.complete or limits.parse.oversize(download.size)
        if not download.complete:
            log.warning("mime over the download cap", kept_mib=round(download.size / MIB, 1))
        elif oversize:
            log.info("mime over the parse cap", size_mib=round(download.size / MIB, 1))
        file.seek(0)
        raw = header_block(file.read(limits.parse.header_cap)) if oversize else file.read()
        yield SpooledMime(file, download, raw, oversize)
