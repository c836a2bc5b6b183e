"""Regression (issue 10, `make chaos`): a MIME read that never ends must fail, not hang.

A MIME read takes the chunks from an ordered consumer, which has no time limit of its own (nats-py's
`ObjectStore.get` did the same); after a nats-server restart in the middle of a read it waited
forever, and the classifier's progress acks kept that message (and every one behind it) from being
redelivered. The read is now bounded and
fails with TimeoutError, which the retry discipline treats as transient.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from nats.js import JetStreamContext, api

from services.common.errors import TRANSIENT_ERRORS
from services.common.mimestore import MimeStore


class _StuckChunks:
    """An ordered consumer whose chunks never come (the server restarted under the read)."""

    @property
    def messages(self) -> AsyncIterator[Any]:
        return self._never()

    async def _never(self) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield None  # pragma: no cover - never reached

    async def unsubscribe(self) -> None:
        pass


class _JetStream:
    """Has the object's metadata (one chunk), but the read of its chunks never ends."""

    async def get_msg(self, stream: str, **_: Any) -> Any:
        info = api.ObjectInfo(name="0" * 64, bucket="sakspost_mime", nuid="n", chunks=1, size=1)
        return SimpleNamespace(data=json.dumps(info.as_dict()).encode())

    async def subscribe(self, subject: str, **_: Any) -> _StuckChunks:
        return _StuckChunks()


async def test_a_read_that_never_ends_fails_as_a_transient_error() -> None:
    store = MimeStore(cast(JetStreamContext, _JetStream()), get_timeout_seconds=0.05)
    with pytest.raises(TRANSIENT_ERRORS) as raised:
        await store.get("0" * 64)
    assert isinstance(raised.value, TimeoutError)
