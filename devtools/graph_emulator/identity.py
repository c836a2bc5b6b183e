"""The emulator's Entra ID: the client-credentials token endpoint azure-identity calls, and the
bearer tokens the Graph routes then require.

Off by default: `make demo` and most tests run without tokens. Given an `AppRegistration`, the
emulator serves `POST /{tenant}/oauth2/v2.0/token` on a TLS port of its own (azure-identity takes
only an https authority) and checks the client's credential as Entra ID does: a registered client
secret, or a client assertion, a JWT whose header names a registered certificate by thumbprint
(`x5t#S256`, or `x5t`), signed with that certificate's key (PS256, or RS256), with `aud` the token
endpoint, `iss` and `sub` the client id, and `nbf`/`exp` around now. Refusals have Entra's shape
and AADSTS codes (the wording is the emulator's). Graph then answers 401 to a request without a
token the emulator issued and that has not expired.

Tokens and assertions use wall time, not the emulator's advanceable clock: clients compute them
from wall time too.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.responses import JSONResponse

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME_SECONDS = 3599
# Entra ID tolerates some clock skew between the client and itself when it checks nbf/exp.
CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True)
class AppRegistration:
    """An app registration's id and credentials; several of each may be valid at once, as in
    Entra ID while a credential is being rotated.

    For sign-in (`signin.py`): the redirect URIs a code may be sent to, whether the app allows
    public-client flows (device code without a secret), and the app roles it was granted on the
    API it asks client-credentials tokens for (its tokens' `roles`)."""

    client_id: str
    secrets: tuple[str, ...] = ()
    certificates: tuple[x509.Certificate, ...] = ()
    redirect_uris: tuple[str, ...] = ()
    public_client: bool = False
    roles: tuple[str, ...] = ()


class Refused(Exception):
    """A token request Entra ID would refuse: `error` is OAuth's code, `code` the AADSTS one."""

    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.status = status
        self.error = error
        self.code = code

    def response(self) -> JSONResponse:
        trace = str(uuid.uuid4())
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return JSONResponse(
            {
                "error": self.error,
                "error_description": f"{self} Trace ID: {trace} Timestamp: {now}",
                "error_codes": [self.code],
                "timestamp": now,
                "trace_id": trace,
            },
            status_code=self.status,
        )


def invalid_client(code: int, message: str) -> Refused:
    return Refused(401, "invalid_client", code, message)


def check_secret(registration: AppRegistration, secret: str) -> None:
    """`Refused` unless `secret` is one of the app's; compared in constant time with each."""
    matches = [hmac.compare_digest(secret, known) for known in registration.secrets]
    if not any(matches):
        raise invalid_client(
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is "
            f"the client secret value, not the client secret ID, for a secret added to app "
            f"'{registration.client_id}'.",
        )


def _thumbprint(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> str:
    return base64.urlsafe_b64encode(certificate.fingerprint(algorithm)).decode().rstrip("=")


class TokenIssuer:
    """Issues app-only Graph tokens to one app registration and recognises them afterwards."""

    def __init__(self, registration: AppRegistration, tenants: Sequence[str]) -> None:
        self.registration = registration
        self._tenants = {tenant.lower() for tenant in tenants}
        self._issued: dict[str, float] = {}

    def accepts(self, authorization: str | None) -> bool:
        """Whether an Authorization header carries a token issued here that is still valid."""
        scheme, _, token = (authorization or "").partition(" ")
        expires = self._issued.get(token) if scheme.lower() == "bearer" else None
        return expires is not None and time.time() < expires

    def issue(self, tenant: str, endpoint: str, form: dict[str, str]) -> dict[str, object]:
        """The token response for a client-credentials request to `endpoint`, or `Refused`."""
        if tenant.lower() not in self._tenants:
            raise Refused(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            raise Refused(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        client_id = form.get("client_id", "")
        if client_id != self.registration.client_id:
            raise Refused(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'.",
            )
        scope = form.get("scope", "")
        if scope.split() != [GRAPH_SCOPE]:
            raise Refused(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must "
                f"have a scope value with /.default suffixed to the resource identifier.",
            )
        secret, assertion = form.get("client_secret"), form.get("client_assertion")
        if secret is not None and assertion is None:
            self._check_secret(secret)
        elif assertion is not None and secret is None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise Refused(
                    400,
                    "invalid_request",
                    50027,
                    f"client_assertion_type must be '{ASSERTION_TYPE}'.",
                )
            self._check_assertion(assertion, endpoint)
        else:
            raise invalid_client(
                7000218,
                "The request body must contain exactly one of the following parameters: "
                "'client_assertion' or 'client_secret'.",
            )
        return self._token()

    def _check_secret(self, secret: str) -> None:
        check_secret(self.registration, secret)

    def _check_assertion(self, assertion: str, endpoint: str) -> None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            raise Refused(
                400, "invalid_request", 50027, "JWT token is invalid or malformed."
            ) from None
        certificate = self._certificate_named_by(header)
        algorithm = header.get("alg")
        if algorithm not in ("PS256", "RS256"):
            raise invalid_client(
                5002738, f"Invalid JWT token. '{algorithm}' is not a supported signature algorithm."
            )
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise invalid_client(700027, "The certificate's key is not an RSA key.")
        client_id = self.registration.client_id
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=[algorithm],
                audience=endpoint,
                issuer=client_id,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["aud", "iss", "sub", "exp", "nbf"]},
            )
        except jwt.InvalidSignatureError:
            raise invalid_client(700027, "Client assertion failed signature validation.") from None
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            raise invalid_client(
                700024, "Client assertion is not within its valid time range."
            ) from None
        except jwt.InvalidAudienceError:
            raise invalid_client(
                50013,
                f"Assertion audience claim does not match the required value. The expected "
                f"audience is '{endpoint}'.",
            ) from None
        except jwt.InvalidIssuerError:
            raise invalid_client(
                700021, "Client assertion application identifier doesn't match 'client_id'."
            ) from None
        except jwt.InvalidTokenError as error:
            raise invalid_client(50027, f"JWT token is invalid or malformed: {error}.") from None
        if claims.get("sub") != client_id:
            raise invalid_client(
                700021, "Client assertion subject doesn't match 'client_id' parameter."
            )

    def _certificate_named_by(self, header: dict[str, object]) -> x509.Certificate:
        # Entra ID finds the key by the thumbprint in the header: SHA-256 (x5t#S256), or SHA-1
        # (x5t) from older clients. Either may carry base64 padding.
        wanted = {
            name: str(header[name]).rstrip("=")
            for name in ("x5t#S256", "x5t")
            if isinstance(header.get(name), str)
        }
        for certificate in self.registration.certificates:
            thumbprints = {
                "x5t#S256": _thumbprint(certificate, hashes.SHA256()),
                "x5t": _thumbprint(certificate, hashes.SHA1()),  # noqa: S303  # only a name
            }
            if any(wanted.get(kind) == value for kind, value in thumbprints.items()):
                return certificate
        raise invalid_client(
            700027,
            "The certificate with identifier used to sign the client assertion is not registered "
            f"on application. [Reason - The key was not found., Thumbprint of key used by client: "
            f"'{next(iter(wanted.values()), '')}']",
        )

    def _token(self) -> dict[str, object]:
        now = time.time()
        self._issued = {token: ends for token, ends in self._issued.items() if ends > now}
        token = secrets.token_urlsafe(32)
        self._issued[token] = now + TOKEN_LIFETIME_SECONDS
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": token,
        }


def self_signed(
    key: CertificateIssuerPrivateKeyTypes,
    name: str,
    *,
    valid_for: timedelta = timedelta(days=1),
    hosts: Sequence[str] = (),
) -> x509.Certificate:
    """A self-signed certificate for `key`: an app registration's credential, or (with `hosts`)
    a TLS server certificate for those names and addresses."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + valid_for)
    )
    if hosts:
        alternatives: list[x509.GeneralName] = []
        for host in hosts:
            try:
                alternatives.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alternatives.append(x509.DNSName(host))
        builder = (
            builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
    return builder.sign(key, hashes.SHA256())


def write_tls_files(directory: Path, hosts: Sequence[str]) -> tuple[Path, Path]:
    """A fresh TLS certificate and key for the login host, as PEM files (certificate, key); the
    certificate is also what a client of the login host trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed(key, "graph-emulator login", hosts=hosts)
    certificate_file, key_file = directory / "login.crt", directory / "login.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file
