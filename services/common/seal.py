"""The keyed seal on mail Sakspost writes itself (forwards, notices): the one home of its signing
and verifying.

Headers such as `X-Sakspost-Forwarded-By` or `X-Sakspost-Notice` are text anyone can put in a mail.
What makes a mail Sakspost's own is `X-Sakspost-Seal: v1; t=<unix seconds>; s=<hex>`, an
HMAC-SHA256 with Sakspost's signing key over the purpose (`forward`, `notice`), the owner (the
mailbox that sent it), a digest of what the mail vouches for (a forward: the attached original's
SHA-256; a notice: its own identifying headers) and the time it was sealed. A mail is accepted as
sealed when the HMAC verifies with the current key or the previous one (key rotation), and, where
the time Graph received the mail is known, the seal was made at most `MAX_AGE` before it.

The key is `SAKSPOST_SIGNING_KEY` (with `SAKSPOST_SIGNING_KEY_PREVIOUS` during a rotation), from a
Secret in Kubernetes; locally `sakspost up` generates one into `<data dir>/credentials/signing.env`,
next to the NATS logins, and a service without the variable reads that file.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.common.credentials import credentials_dir, ensure_key, read_env_file
from services.common.settings import Settings, SettingsError

SEAL_HEADER = "X-Sakspost-Seal"
SIGNING_FILE = "signing.env"
_KEY, _PREVIOUS = "SAKSPOST_SIGNING_KEY", "SAKSPOST_SIGNING_KEY_PREVIOUS"
_VERSION = "v1"
# A forward reaches the department's mailbox within minutes; a day allows for a mail queue
# that was stuck. A seal from the future beyond clock skew is as suspect as an old one.
MAX_AGE = timedelta(days=1)
CLOCK_SKEW = timedelta(minutes=10)
# Shorter keys are refused: a guessable key would make every seal forgeable.
MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class SigningKeys:
    """Sakspost's signing key and, during a rotation, the previous one (verify only)."""

    current: bytes
    previous: bytes | None = None

    def seal(self, purpose: str, owner: str, digest: str, at: datetime) -> str:
        """The `X-Sakspost-Seal` value for `digest`, sent by `owner` at `at`."""
        stamp = int(at.timestamp())
        return f"{_VERSION}; t={stamp}; s={_mac(self.current, purpose, owner, digest, stamp)}"

    def verify(
        self, value: str, purpose: str, owner: str, digest: str, received_at: datetime | None
    ) -> bool:
        """The seal `value` vouches for `digest` from `owner` (and is fresh at `received_at`)."""
        fields = _fields(value)
        if fields is None:
            return False
        stamp, signature = fields
        if received_at is not None and not _fresh(stamp, received_at):
            return False
        keys = [self.current] if self.previous is None else [self.current, self.previous]
        return any(
            hmac.compare_digest(_mac(key, purpose, owner, digest, stamp), signature) for key in keys
        )


def _mac(key: bytes, purpose: str, owner: str, digest: str, stamp: int) -> str:
    statement = "\n".join((_VERSION, purpose, owner.strip().lower(), digest, str(stamp)))
    return hmac.new(key, statement.encode("utf-8"), hashlib.sha256).hexdigest()


def _fields(value: str) -> tuple[int, str] | None:
    parts = dict(part.strip().partition("=")[::2] for part in value.split(";")[1:] if "=" in part)
    if not value.strip().startswith(_VERSION + ";"):
        return None
    stamp, signature = parts.get("t", ""), parts.get("s", "")
    if not stamp.isdigit() or len(stamp) > 12 or len(signature) != 64:
        return None
    return int(stamp), signature


def _fresh(stamp: int, received_at: datetime) -> bool:
    sealed = datetime.fromtimestamp(stamp, UTC)
    return received_at - MAX_AGE <= sealed <= received_at + CLOCK_SKEW


def _checked(name: str, value: str) -> bytes:
    # A Secret made from a file often ends with a newline no one meant as part of the key.
    value = value.strip()
    if len(value) < MIN_KEY_LENGTH:
        raise SettingsError(
            f"{name} is shorter than {MIN_KEY_LENGTH} characters (fix: generate one with "
            '`python -c "import secrets; print(secrets.token_hex(32))"`)'
        )
    return value.encode("utf-8")


def signing_keys(settings: Settings) -> SigningKeys:
    """The keys from the environment, else from the credentials folder `sakspost up` fills."""
    if settings.signing_key is not None:
        current = settings.signing_key.get_secret_value()
        previous = settings.signing_key_previous
        values = {_KEY: current, _PREVIOUS: previous.get_secret_value() if previous else ""}
    else:
        values = _key_file(credentials_dir(settings) / SIGNING_FILE)
    previous_key = values.get(_PREVIOUS)
    return SigningKeys(
        _checked(_KEY, values[_KEY]),
        _checked(_PREVIOUS, previous_key) if previous_key else None,
    )


def _key_file(path: Path) -> dict[str, str]:
    try:
        values = read_env_file(path)
    except OSError:
        raise SettingsError(
            f"no signing key: {_KEY} is not set and {path} cannot be read (fix: start the "
            f"stack with `sakspost up`, or set {_KEY} from the sakspost-signing Secret)"
        ) from None
    if _KEY not in values:
        raise SettingsError(f"{path} has no {_KEY} (fix: delete it; `sakspost up` writes one)")
    return values


def ensure_signing_key(directory: Path) -> None:
    """Generate the local signing key on first start; it survives restarts (a forward sealed
    before a restart still verifies after it)."""
    ensure_key(directory / SIGNING_FILE, _KEY)
