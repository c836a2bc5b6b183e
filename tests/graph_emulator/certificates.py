"""App registration credentials for tests: an RSA key and its self-signed certificate, written as
a Kubernetes Secret would mount them (PEM, optionally encrypted, or PKCS#12)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from devtools.graph_emulator.identity import self_signed


@dataclass(frozen=True)
class Identity:
    """An RSA key and its self-signed certificate, as an app registration's credential."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def new(cls, name: str) -> Identity:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(key, self_signed(key, name))

    def pem(self, path: Path, password: str | None = None) -> Path:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            )
            + self.certificate.public_bytes(serialization.Encoding.PEM)
        )
        return path

    def pkcs12(self, path: Path, password: str) -> Path:
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"sakspost",
                self.key,
                self.certificate,
                None,
                serialization.BestAvailableEncryption(password.encode()),
            )
        )
        return path
