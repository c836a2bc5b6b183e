"""An identity's NATS login: from the environment first, else from the data directory's credentials.

`sakspost up` generates a password per identity on first start and writes, for each, a file
`<data-dir>/credentials/<identity>.env` (mode 0600) with the lines

    SAKSPOST_NATS_URL=nats://127.0.0.1:4222,nats://127.0.0.1:4223
    SAKSPOST_NATS_USER=<identity>
    SAKSPOST_NATS_PASSWORD=<password>

so that a process can be started with them as its environment (Kubernetes gives the same
variables from Secrets). A process that has no `SAKSPOST_NATS_USER` in its environment reads the
file of the identity it needs. Nothing here ever connects anonymously.
"""

from __future__ import annotations

import os
import re
import secrets
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from services.common.permissions import inbox_prefix
from services.common.settings import Settings, split_urls

CREDENTIALS_FOLDER = "credentials"
_READABLE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_URL, _USER, _PASSWORD = "SAKSPOST_NATS_URL", "SAKSPOST_NATS_USER", "SAKSPOST_NATS_PASSWORD"


class CredentialsError(RuntimeError):
    """No usable login for an identity; `path` is where it was looked for."""

    def __init__(self, identity: str, path: Path) -> None:
        super().__init__(
            f"no NATS login for {identity}: SAKSPOST_NATS_USER is not set and {path} cannot be "
            "read (fix: start the stack with `sakspost up`, pass its --data-dir, or set "
            "SAKSPOST_NATS_USER and SAKSPOST_NATS_PASSWORD)"
        )
        self.path = path


@dataclass(frozen=True)
class NatsLogin:
    identity: str
    servers: tuple[str, ...]
    user: str | None
    password: SecretStr | None = None
    creds_file: Path | None = None
    ca_file: Path | None = None

    @property
    def inbox_prefix(self) -> str:
        return inbox_prefix(self.user or self.identity)

    def tls_context(self) -> ssl.SSLContext | None:
        """Verify the servers against the configured CA (Kubernetes: cert-manager's)."""
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None

    def connect_options(self) -> dict[str, object]:
        """Keyword arguments for `nats.connect` (and FastStream's broker, which passes them on)."""
        options: dict[str, object] = {"inbox_prefix": self.inbox_prefix}
        if self.ca_file is not None:
            options["tls"] = self.tls_context()
        if self.user is not None:
            options["user"] = self.user
        if self.password is not None:
            options["password"] = self.password.get_secret_value()
        if self.creds_file is not None:
            options["user_credentials"] = str(self.creds_file)
        return options


def credentials_dir(settings: Settings) -> Path:
    return settings.nats_credentials_dir or settings.data_dir / CREDENTIALS_FOLDER


def env_file(directory: Path, identity: str) -> Path:
    return directory / f"{identity}.env"


def login_for(settings: Settings, identity: str) -> NatsLogin:
    """How `identity` logs in: the environment's user if one is set, else its credentials file."""
    if settings.nats_user is not None or settings.nats_creds_file is not None:
        return NatsLogin(
            identity,
            tuple(settings.nats_servers),
            settings.nats_user,
            settings.nats_password,
            settings.nats_creds_file,
            settings.nats_ca_file,
        )
    path = env_file(credentials_dir(settings), identity)
    try:
        values = read_env_file(path)
    except OSError:
        raise CredentialsError(identity, path) from None
    # A URL given explicitly in the environment wins over the file's (e.g. a port forward).
    servers = settings.nats_servers if "nats_url" in settings.model_fields_set else None
    return NatsLogin(
        identity,
        tuple(servers or split_urls(values.get(_URL, ""))),
        values.get(_USER, identity),
        SecretStr(values[_PASSWORD]) if _PASSWORD in values else None,
        ca_file=settings.nats_ca_file,
    )


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, separator, value = line.strip().partition("=")
        if separator and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Write `values` as NAME=value lines, readable by the owner only, replacing atomically."""
    write_private(path, "".join(f"{name}={value}\n" for name, value in values.items()))


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by the owner only (its folder too when made here),
    replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def new_password() -> str:
    """A random password nats-server reads as a plain string from an environment variable.

    nats-server parses a variable's value as configuration: a value starting with a digit or a
    dash is read as a number and refused, so every password is a letter and 48 hex digits.
    """
    return f"s{secrets.token_hex(24)}"


def ensure_key(path: Path, variable: str) -> None:
    """A random key in `path` as the line `variable=<key>`, made on first use and then kept: what
    it protects (a marker, a signature) must still verify after a restart."""
    if path.exists() and read_env_file(path).get(variable):
        return
    write_env_file(path, {variable: secrets.token_hex(32)})


def ensure_credentials(
    directory: Path, identities: Iterable[str], servers: Iterable[str]
) -> dict[str, str]:
    """Each identity's password, generated on first use; the files are rewritten with `servers`.

    Passwords survive restarts (the stack's JetStream outlives them); the URLs follow the ports
    the stack runs on now.
    """
    url = ",".join(servers)
    passwords: dict[str, str] = {}
    for name in identities:
        path = env_file(directory, name)
        known = read_env_file(path).get(_PASSWORD) if path.exists() else None
        passwords[name] = known if known and _READABLE.fullmatch(known) else new_password()
        write_env_file(path, {_URL: url, _USER: name, _PASSWORD: passwords[name]})
    return passwords
