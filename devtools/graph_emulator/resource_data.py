"""Resource data in change notifications, encrypted as Graph encrypts it.

Graph serialises the changed resource (the subscription's `$select` of it) as JSON and encrypts it
with a fresh AES-256 key (CBC, PKCS7 padding, the key's first 16 bytes as the IV); the key itself
is encrypted with the public key of the certificate the subscription gave (RSA-OAEP with SHA-1),
and the ciphertext is signed with HMAC-SHA256 under the AES key. `encryptedContent` carries the
three (base64) and names the certificate by the subscriber's id for it and its SHA-1 thumbprint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from devtools.graph_emulator.errors import bad_request


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_certificate(value: Any) -> x509.Certificate:
    """A subscription's `encryptionCertificate`: a base64 DER certificate with an RSA key."""
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(str(value), validate=True))
    except (ValueError, binascii.Error):
        raise bad_request(
            "encryptionCertificate is not a base64-encoded X.509 certificate.",
            code="InvalidRequest",
        ) from None
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise bad_request("encryptionCertificate must hold an RSA key.", code="InvalidRequest")
    return certificate


def encrypted_content(
    resource: dict[str, Any], certificate: x509.Certificate, certificate_id: str
) -> dict[str, str]:
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)  # parse_certificate admits RSA keys only
    key = os.urandom(32)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(resource).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    data = encryptor.update(plain) + encryptor.finalize()
    sha1 = hashes.SHA1()  # noqa: S303  # Graph's OAEP padding
    data_key = public.encrypt(key, OAEP(mgf=MGF1(algorithm=sha1), algorithm=sha1, label=None))
    return {
        "data": _b64(data),
        "dataSignature": _b64(hmac.new(key, data, hashlib.sha256).digest()),
        "dataKey": _b64(data_key),
        "encryptionCertificateId": certificate_id,
        "encryptionCertificateThumbprint": certificate.fingerprint(sha1).hex().upper(),
    }
