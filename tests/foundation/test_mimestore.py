"""Regression (issue 10, `make chaos`): a MIME read that never ends must fail, not hang.

nats-py's `ObjectStore.get` reads chunks from an ordered consumer without a time limit; after a
nats-server restart in the middle of a read it waited forever, and the classifier's progress acks
kept that message (and every one behind it) from being redelivered. The read is now bounded and
fails with TimeoutError, which the retry discipline treats as transient.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from nats.js import JetStreamContext

from services.common.errors import TRANSIENT_ERRORS
from services.common.mimestore import MimeStore


class _StuckStore:
    async def get(self, name: str) -> Any:
        await asyncio.Event().wait()  # the chunks never come


class _JetStream:
    async def object_store(self, bucket: str) -> _StuckStore:
        return _StuckStore()


async def test_a_read_that_never_ends_fails_as_a_transient_error() -> None:
    store = MimeStore(cast(JetStreamContext, _JetStream()), get_timeout_seconds=0.05)
    with pytest.raises(TRANSIENT_ERRORS) as raised:
        await store.get("0" * 64)
    assert isinstance(raised.value, TimeoutError)
