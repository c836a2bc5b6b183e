"""msal's HTTP client on httpx, checking Entra ID's TLS against the CA bundle it is given.

msal's own client is requests, which lets `REQUESTS_CA_BUNDLE` in the environment replace the CA
a session is given (psf/requests#3829): against the emulator's login host (a locally made
certificate) the configured bundle must win. Sakspost's HTTP is httpx everywhere, so msal gets it
too: the overview's sign-in, `sakspost login`, and the tests that drive msal.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx

TIMEOUT_SECONDS = 30.0


def tls_verification(ca_file: Path | None) -> ssl.SSLContext | bool:
    """The CA bundle to check Entra ID's certificate with (None: the system's)."""
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file is not None else True


class MsalHttpClient:
    """The `get`/`post`/`close` msal calls on its `http_client`; a context manager closes it."""

    def __init__(self, ca_file: Path | None) -> None:
        self._client = httpx.Client(verify=tls_verification(ca_file), timeout=TIMEOUT_SECONDS)

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> httpx.Response:
        return self._client.post(url, params=params, data=data, headers=headers)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MsalHttpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
