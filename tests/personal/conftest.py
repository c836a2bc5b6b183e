"""Fixtures for personal mailboxes: the emulator in-process (as for ingest), sample mail."""

from __future__ import annotations

import re

from tests.conftest import SAMPLES
from tests.ingest.conftest import admin, emulator

__all__ = ["admin", "emulator", "sample"]


def sample(name: str, *, to: str, message_id: str | None = None) -> bytes:
    """A labelled sample mail as it would reach `to`, optionally with its own Message-ID."""
    raw = (SAMPLES / name).read_bytes()
    raw = re.sub(rb"(?mi)^To:.*$", f"To: {to}".encode(), raw, count=1)
    if message_id is not None:
        raw = re.sub(rb"(?mi)^Message-ID:.*$", f"Message-ID: <{message_id}>".encode(), raw, count=1)
    return raw
