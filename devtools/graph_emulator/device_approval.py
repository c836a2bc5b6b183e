"""Approving a device-code sign-in as a named person through the emulator's `/device` page, as
that person would in a browser: for tests and the demo, which sign in without anyone at a
keyboard (`sakspost login --as ADDRESS`). Only the emulator's Entra ID lets the person be
chosen like this."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx


class ApprovalRefused(RuntimeError):
    """The page did not approve the code (unknown, expired, or not the emulator)."""


def approve_device_code(
    verification_uri: str, user_code: str, email: str, ca_file: Path | None
) -> None:
    """Approve the sign-in waiting for `user_code` as the person with address `email`."""
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(ca_file)) if ca_file is not None else True
    )
    try:
        with httpx.Client(verify=verify, trust_env=False, timeout=30.0) as http:
            response = http.post(verification_uri, data={"user_code": user_code, "email": email})
    except httpx.HTTPError as error:
        raise ApprovalRefused(f"{verification_uri} cannot be reached: {error}") from None
    if response.status_code != 200:
        raise ApprovalRefused(
            f"{verification_uri} did not approve the code (HTTP {response.status_code})"
        )
