"""Where `sakspost classify --learn` finds people's corrections: the classifier's KV bucket and,
for each corrected mail, its MIME in the Object Store; read once, then the connection closes."""

from __future__ import annotations

from dataclasses import dataclass

from services.classifier.corrections import CORRECTIONS_BUCKET, Correction, CorrectionStore
from services.classifier.learning import MailReader
from services.common.connect import connect_once
from services.common.mimelimits import MimeParseLimits, read_for_parse
from services.common.mimestore import MimeStore
from services.common.settings import Settings


@dataclass(frozen=True)
class StoredCorrections:
    corrections: list[Correction]
    mail: dict[str, bytes]
    """Raw MIME by SHA-256 (a mail over the parse cap: its header block), for the corrections
    that name their mail."""

    def reader(self) -> MailReader:
        def read(correction: Correction) -> bytes | None:
            return self.mail.get(correction.mime_sha256 or "")

        return read


async def read_stored_corrections(settings: Settings) -> StoredCorrections:
    connection = await connect_once(settings, "admin", "sakspost-classify-learn")
    try:
        js = connection.jetstream()
        corrections = await CorrectionStore(await js.key_value(CORRECTIONS_BUCKET)).corrections()
        mime = MimeStore(js)
        digests = {c.mime_sha256 for c in corrections if c.mime_sha256}
        limits = MimeParseLimits.from_settings(settings)
        mail = {
            digest: await read_for_parse(mime, digest, await mime.size(digest), limits)
            for digest in sorted(digests)
        }
    finally:
        await connection.close()
    return StoredCorrections(corrections, mail)
