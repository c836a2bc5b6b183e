"""Issue 20, the pure parts: opening Graph's encrypted resource data (the emulator encrypts as
Graph does), reading the message's properties out of it, and judging a validation token."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.graph_emulator.entra import SigningKey, validation_token
from devtools.graph_emulator.resource_data import encrypted_content
from services.common.tenantkeys import tenant_issuers
from services.ingest.resource_data import EncryptionCertificate, Unopenable, open_resource_data
from services.ingest.snapshot import NotTheMessage, snapshot_of_resource
from services.ingest.validation_tokens import InvalidToken, check_token
from tests.graph_emulator.certificates import Identity

TENANT = "7f1c0d2e-0000-4000-8000-000000000001"
APP = "6f1c0d2e-0000-4000-8000-5a6b5e0a0001"
AUTHORITY = "https://login.example"
RESOURCE = {
    "@odata.type": "#Microsoft.OutlookServices.Message",
    "Id": "AAMk-1",
    "ChangeKey": "CQAAAB",
    "InternetMessageId": "<a@b>",
    "ConversationId": "AAQk-1",
    "ReceivedDateTime": "2026-12-06T10:00:00Z",
    "ParentFolderId": "AQMk-inbox",
    "Categories": ["Tildelt: Kari"],
    "Flag": {"FlagStatus": "NotFlagged"},
    "IsDraft": False,
}


@pytest.fixture(scope="module")
def held() -> EncryptionCertificate:
    identity = Identity.new("notifications")
    return EncryptionCertificate(identity.certificate, identity.key)


def opened(content: dict[str, str], held: EncryptionCertificate) -> Any:
    return open_resource_data(
        content["data"],
        content["dataKey"],
        content["dataSignature"],
        content["encryptionCertificateId"],
        {held.id: held},
    )


def flip(value: str) -> str:
    raw = base64.b64decode(value)
    return base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode()


def test_resource_data_opens_to_the_message_graph_encrypted(held: EncryptionCertificate) -> None:
    content = encrypted_content(RESOURCE, held.certificate, held.id)
    snapshot = snapshot_of_resource(opened(content, held), "AAMk-1")
    assert snapshot.change_key == "CQAAAB" and snapshot.categories == ["Tildelt: Kari"]
    assert snapshot.flag_status == "notFlagged" and snapshot.received_at is not None
    assert snapshot.received_at.isoformat() == "2026-12-06T10:00:00+00:00"


@pytest.mark.parametrize("part", ["dataSignature", "data", "dataKey"])
def test_tampered_resource_data_is_refused(held: EncryptionCertificate, part: str) -> None:
    content = encrypted_content(RESOURCE, held.certificate, held.id)
    content[part] = flip(content[part])
    with pytest.raises(Unopenable):
        opened(content, held)


def test_resource_data_for_another_certificate_is_refused(held: EncryptionCertificate) -> None:
    other = Identity.new("someone else")
    content = encrypted_content(RESOURCE, other.certificate, held.id)
    with pytest.raises(Unopenable):
        opened(content, held)
    content["encryptionCertificateId"] = "unknown"
    with pytest.raises(Unopenable):
        opened(content, held)


def test_resource_data_of_another_message_is_refused() -> None:
    with pytest.raises(NotTheMessage):
        snapshot_of_resource(RESOURCE, "AAMk-2")
    with pytest.raises(NotTheMessage):
        snapshot_of_resource(["not", "a", "message"], "AAMk-1")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.load_or_create(None)


def check(token: str, key: SigningKey) -> None:
    keys = {key.kid: jwt.PyJWK(key.jwks()["keys"][0]).key}
    check_token(token, keys, tenant_issuers(f"{AUTHORITY}/{{tenantid}}/v2.0", TENANT), APP)


def test_a_validation_token_of_graph_for_us_is_valid(key: SigningKey) -> None:
    check(validation_token(key, AUTHORITY, TENANT, APP), key)
    v1 = jwt.decode(
        validation_token(key, AUTHORITY, TENANT, APP), options={"verify_signature": False}
    )
    v1 = {**v1, "iss": f"https://sts.windows.net/{TENANT}/", "appid": v1.pop("azp")}
    check(key.sign(v1), key)


def test_validation_tokens_that_prove_nothing_are_invalid(key: SigningKey) -> None:
    good = validation_token(key, AUTHORITY, TENANT, APP)
    claims = jwt.decode(good, options={"verify_signature": False})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = [
        validation_token(key, AUTHORITY, TENANT, APP, time.time() - 7200),
        validation_token(key, AUTHORITY, TENANT, "another-app"),
        validation_token(key, AUTHORITY, "another-tenant", APP),
        validation_token(key, "https://evil.example", TENANT, APP),
        key.sign({**claims, "azp": "another-app"}),
        jwt.encode(claims, stranger, "RS256", headers={"kid": key.kid}),
        jwt.encode(claims, "a-shared-secret-of-32-bytes-long!", "HS256", headers={"kid": key.kid}),
        "not a token",
    ]
    for token in bad:
        with pytest.raises(InvalidToken):
            check(token, key)
