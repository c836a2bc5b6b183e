"""Tokens as Entra ID issues them, signed by the Graph emulator's key (issue 19): what a command
carries in `Authorization: Bearer <jwt>`.

`token_for` is a person's ID token (the overview's sign-in, `sakspost login`); `operator_token` an
application's token (client credentials for `<client id>/.default`). Both carry the claims of the
identity contract, so the services verify them exactly as they will verify Entra ID's. Any claim
can be changed or removed (`exp=…`, `aud=None`) to make a token a service must refuse.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.graph_emulator import RunningEmulator
from devtools.graph_emulator.emulator import APPLICATION_ID, tenant_id_for
from devtools.graph_emulator.entra import SigningKey, issuer
from devtools.graph_emulator.server import LOGIN_CA_FILE
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, Settings
from tests.support.stack import RunningStack

TOKEN_SECONDS = 3600


def staff_object_id(email: str) -> str:
    """The emulator's object id of a staff member (stable across processes)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sakspost-staff:" + email.lower()))


@dataclass(frozen=True)
class Issuer:
    """The emulator's Entra ID as a test mints with it: its key, where it lives, and Sakspost's
    registration (the audience)."""

    key: SigningKey
    authority: str
    tenant: str
    ca_file: Path | None = None
    client_id: str = APPLICATION_ID

    @classmethod
    def of(cls, source: Issuer | RunningEmulator | RunningStack | SigningKey) -> Issuer:
        if isinstance(source, Issuer):
            return source
        if isinstance(source, RunningEmulator):
            emulator = source.emulator
            return cls(emulator.signing_key, source.login_url, emulator.tenant_id, source.login_ca)
        tenant = tenant_id_for(load_organisation(DEFAULT_ORG_CONFIG).domain)
        if isinstance(source, RunningStack):
            # `sakspost up`'s emulator keeps its key in its data directory.
            folder = source.data_dir / "graph-emulator"
            return cls(
                SigningKey.load_or_create(folder),
                f"https://127.0.0.1:{source.port('SAKSPOST_LOGIN_PORT')}",
                tenant,
                folder / LOGIN_CA_FILE,
            )
        # A key the tenant never published: what a forger signs with.
        return cls(source, "https://login.invalid", tenant)

    def settings(self, settings: Settings) -> Settings:
        """`settings` of a service that accepts this issuer's tokens."""
        return settings.model_copy(
            update={
                "auth_tenant_id": self.tenant,
                "auth_client_id": self.client_id,
                "graph_authority": self.authority,
                "graph_authority_ca_file": self.ca_file,
            }
        )

    def sign(self, claims: dict[str, Any], changes: dict[str, Any]) -> str:
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": issuer(self.authority, self.tenant),
            "aud": self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_SECONDS,
            "tid": self.tenant,
            "ver": "2.0",
            **claims,
        }
        base.update(changes)
        return self.key.sign({name: value for name, value in base.items() if value is not None})


def token_for(
    source: Issuer | RunningEmulator | RunningStack | SigningKey, staff_email: str, **claims: Any
) -> str:
    """A person's ID token for `staff_email`; `claims` change (None: remove) any claim."""
    return Issuer.of(source).sign(
        {
            "oid": staff_object_id(staff_email),
            "preferred_username": staff_email,
            "name": staff_email.split("@")[0],
        },
        claims,
    )


def operator_token(
    source: Issuer | RunningEmulator | RunningStack | SigningKey, app_id: str, **claims: Any
) -> str:
    """An application's token (client credentials) of the app `app_id`."""
    return Issuer.of(source).sign(
        {
            "idtyp": "app",
            "azp": app_id,
            "appid": app_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, "sakspost-app:" + app_id.lower())),
        },
        claims,
    )


def bearer(token: str) -> dict[str, str]:
    """The headers of a command carrying `token`."""
    return {"Authorization": f"Bearer {token}"}
