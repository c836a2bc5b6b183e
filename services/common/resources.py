"""What every handler may ask FastStream's context for, by type (`publisher: Publisher`)."""

from __future__ import annotations

from typing import Annotated

from faststream import Context
from nats.js import JetStreamContext

from services.common.publisher import EventPublisher

PUBLISHER_KEY = "publisher"
JETSTREAM_KEY = "jetstream"

Publisher = Annotated[EventPublisher, Context(PUBLISHER_KEY)]
JetStream = Annotated[JetStreamContext, Context(JETSTREAM_KEY)]
