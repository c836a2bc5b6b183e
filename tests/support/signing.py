"""The signing key of tests that seal or open Sakspost's own mail without a running stack (a
running stack's services use `signing_keys(settings)`, from its credentials folder)."""

from __future__ import annotations

from services.common.seal import SigningKeys

TEST_KEYS = SigningKeys(b"sakspost-test-signing-key-0123456789abcdef")
