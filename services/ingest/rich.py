"""Notifications with resource data ("rich" notifications): trusted, opened, or dropped.

A batch that carries resource data, or validation tokens, is trusted only when its tokens are
valid (`validation_tokens.py`); otherwise every item of it is dropped as `forged`, before any is
read. Then each item with `encryptedContent` is opened (`resource_data.py`): it must be encrypted
for the certificate its subscription was made with, signed, and carry the properties of the very
message it notifies (`snapshot.py`); one that is not is dropped as `forged`, and delta finds its
mail anyway. An item without resource data (a deletion, or Graph sent none) is kept as it is: the
fetcher reads the message then, as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog

from services.common.settings import Settings, SettingsError
from services.common.tenantkeys import TenantKeys, authority_url
from services.ingest.config import IngestSettings
from services.ingest.notifications import Accepted, Judged
from services.ingest.resource_data import (
    EncryptionCertificate,
    Unopenable,
    load_encryption_certificate,
    open_resource_data,
)
from services.ingest.snapshot import NotTheMessage, snapshot_of_resource
from services.ingest.validation_tokens import InvalidToken, check_tokens

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RichNotifications:
    current: EncryptionCertificate
    certificates: dict[str, EncryptionCertificate]  # by id: the current one, and the previous
    keys: TenantKeys
    audience: str

    @classmethod
    def from_settings(cls, settings: Settings, ingest: IngestSettings) -> RichNotifications | None:
        """None without an encryption certificate (every message is read, as before)."""
        if ingest.encryption_certificate_path is None:
            return None
        tenant = ingest.token_tenant_id or settings.graph_tenant_id
        audience = ingest.token_app_id or settings.graph_client_id
        if tenant is None or audience is None:
            raise SettingsError(
                "SAKSPOST_INGEST_ENCRYPTION_CERTIFICATE_PATH is set, but not whose validation "
                "tokens to accept (fix: set SAKSPOST_GRAPH_TENANT_ID and SAKSPOST_GRAPH_CLIENT_ID, "
                "or SAKSPOST_INGEST_TOKEN_TENANT_ID and SAKSPOST_INGEST_TOKEN_APP_ID)"
            )
        current = load_encryption_certificate(
            ingest.encryption_certificate_path, "SAKSPOST_INGEST_ENCRYPTION_CERTIFICATE_PATH"
        )
        held = [current]
        if ingest.encryption_certificate_previous_path is not None:
            held.append(
                load_encryption_certificate(
                    ingest.encryption_certificate_previous_path,
                    "SAKSPOST_INGEST_ENCRYPTION_CERTIFICATE_PREVIOUS_PATH",
                )
            )
        keys = TenantKeys(
            authority_url(settings.graph_authority), tenant, settings.graph_authority_ca_file
        )
        return cls(current, {c.id: c for c in held}, keys, audience)

    async def open(self, judged: Judged, tokens: Sequence[str]) -> Judged:
        """The judged batch with each item's resource data opened; raises `KeysUnavailable` when
        the tokens cannot be checked now."""
        # Nothing left to trust (junk, or no resource data): nothing to check, nothing fetched.
        if not judged.accepted or (
            not tokens and not any(a.item.encrypted_content for a in judged.accepted)
        ):
            return judged
        try:
            await check_tokens(self.keys, tokens, self.audience)
        except InvalidToken as error:
            log.warning("validation tokens refused", reason=str(error))
            forged = judged.dropped.get("forged", 0) + len(judged.accepted)
            return Judged([], {**judged.dropped, "forged": forged})
        return await asyncio.to_thread(self._open_items, judged)

    def _open_items(self, judged: Judged) -> Judged:
        accepted: list[Accepted] = []
        forged = 0
        for one in judged.accepted:
            try:
                accepted.append(self._opened(one))
            except (Unopenable, NotTheMessage) as error:
                log.warning("resource data refused", reason=str(error))
                forged += 1
        if not forged:
            return Judged(accepted, judged.dropped)
        return Judged(
            accepted, {**judged.dropped, "forged": judged.dropped.get("forged", 0) + forged}
        )

    def _opened(self, one: Accepted) -> Accepted:
        content, data = one.item.encrypted_content, one.item.resource_data
        if content is None or data is None:
            return one
        if content.encryption_certificate_id != one.subscription.certificate_id:
            raise Unopenable("encrypted for another certificate than its subscription's")
        resource = open_resource_data(
            content.data,
            content.data_key,
            content.data_signature,
            content.encryption_certificate_id,
            self.certificates,
        )
        return replace(one, snapshot=snapshot_of_resource(resource, data.id))
