"""Graph's encrypted resource data (pure): the certificate it encrypts for, and opening an item.

Graph encrypts a notification's resource data with a fresh AES-256 key (CBC, PKCS7 padding, the
IV the key's first 16 bytes), encrypts that key for our certificate's RSA key (OAEP with SHA-1),
and signs the ciphertext with HMAC-SHA256 under the AES key. The signature is checked before
anything is decrypted, in constant time; an item for a certificate we do not hold, with a wrong
signature or padding, or whose plaintext is not JSON, is `Unopenable`.

The certificate and its key come from a PEM file (a Kubernetes Secret): its id, the one Graph
names in `encryptionCertificateId`, is the certificate's SHA-256 thumbprint, so that during a
rotation the old and the new certificate are told apart by the items themselves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7
from cryptography.x509.oid import NameOID

from services.common.settings import SettingsError

AES_KEY_BYTES = 32
# Locally (`sakspost up`), in the credentials folder.
NOTIFICATION_CERTIFICATE_FILE = "graph-notifications.pem"


class Unopenable(ValueError):
    """Resource data that cannot be trusted or read: the item is dropped (and counted)."""


@dataclass(frozen=True)
class EncryptionCertificate:
    """The certificate Graph encrypts resource data for, and its private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def id(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def encoded(self) -> str:
        """The certificate as a subscription's `encryptionCertificate` takes it (base64 DER)."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()


def load_encryption_certificate(path: Path, setting: str) -> EncryptionCertificate:
    """The certificate and RSA key in a PEM file; `SettingsError` naming `setting` and the fix."""
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise SettingsError(
            f"{setting}: cannot read {path} ({error.strerror}) (fix: mount the Secret "
            "sakspost-graph-notifications there, or unset it)"
        ) from None
    try:
        certificate = x509.load_pem_x509_certificate(pem)
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise SettingsError(
            f"{setting}: {path} holds no PEM certificate and unencrypted private key: {error} "
            "(fix: one PEM file with both)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.public_key() != certificate.public_key():
        raise SettingsError(
            f"{setting}: {path}: the private key is not the certificate's RSA key "
            "(fix: one PEM file with an RSA certificate and its own key)"
        )
    return EncryptionCertificate(certificate, key)


def ensure_local_certificate(path: Path) -> None:
    """A self-signed certificate and key in `path`, made on first use and then kept (`sakspost
    up`; in Kubernetes the Secret holds one)."""
    if path.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sakspost notifications (local)")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=730))
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    )


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Unopenable(f"{what} is not base64") from None


def open_resource_data(
    data: str,
    data_key: str,
    data_signature: str,
    certificate_id: str,
    certificates: Mapping[str, EncryptionCertificate],
) -> Any:
    """The decrypted resource (parsed JSON) of one item, its signature checked first."""
    held = certificates.get(certificate_id)
    if held is None:
        raise Unopenable("encrypted for a certificate we do not hold")
    ciphertext = _b64(data, "data")
    sha1 = hashes.SHA1()  # noqa: S303  # Graph's OAEP padding
    try:
        key = held.key.decrypt(
            _b64(data_key, "dataKey"), OAEP(mgf=MGF1(algorithm=sha1), algorithm=sha1, label=None)
        )
    except ValueError:
        raise Unopenable("dataKey does not decrypt") from None
    if len(key) != AES_KEY_BYTES:
        raise Unopenable("dataKey is not an AES-256 key")
    expected = hmac.new(key, ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64(data_signature, "dataSignature")):
        raise Unopenable("dataSignature does not match")
    if not ciphertext or len(ciphertext) % 16:
        raise Unopenable("data is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return json.loads(plain)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Unopenable("data does not decrypt to JSON") from None
