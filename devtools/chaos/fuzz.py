"""Malformed input, generated from a seeded random source (pure: the same seed, the same input).

- Webhook bodies for ingest's `POST /graph/notifications`: random JSON of every shape, valid
  JSON of the wrong shape, truncated and byte-flipped notification batches, absurd nesting,
  forged `clientState`s. None of it may become an event; each must get an answer, not a crash.
- Mails for MIME parsing: a sample mail cut short, with bytes flipped, its boundaries or header
  colons broken, NULs and 8-bit garbage, or a header line far beyond the limits. Each keeps a
  fresh Message-ID on its first line, so it is still one trackable mail that must flow through
  (received with its parse defects, classified, routed) like any other.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from devtools.harness.mail import with_message_id

JsonValue = Any


def _random_json(rng: random.Random, depth: int = 0) -> JsonValue:
    choice = rng.randrange(8 if depth < 4 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.random() < 0.5
    if choice == 2:
        return rng.choice([0, -1, 2**63, 1e308, rng.uniform(-1e6, 1e6)])
    if choice in (3, 4):
        return "".join(chr(rng.randrange(0x20, 0x2FF)) for _ in range(rng.randrange(0, 40)))
    if choice in (5, 6):
        return {
            rng.choice(["value", "clientState", "resourceData", "id", "x"]): _random_json(
                rng, depth + 1
            )
            for _ in range(rng.randrange(0, 5))
        }
    return [_random_json(rng, depth + 1) for _ in range(rng.randrange(0, 5))]


def _notification(rng: random.Random) -> dict[str, Any]:
    number = rng.randrange(10**9)
    return {
        "subscriptionId": rng.choice(["", "00000000-0000-0000-0000-000000000000", f"s{number}"]),
        "clientState": f"forged-{number}",
        "changeType": rng.choice(["created", "updated", "deleted", "exploded", 7]),
        "resource": f"Users/x/Messages/fuzz-{number}",
        "resourceData": {"id": f"fuzz-{number}", "@odata.etag": 'W/"x"'},
    }


def _flip(rng: random.Random, data: bytes, flips: int) -> bytes:
    mutable = bytearray(data)
    for _ in range(flips):
        if mutable:
            mutable[rng.randrange(len(mutable))] = rng.randrange(256)
    return bytes(mutable)


def webhook_body(rng: random.Random) -> tuple[bytes, str]:
    """One request body and its content type."""
    batch = json.dumps({"value": [_notification(rng) for _ in range(rng.randrange(1, 4))]})
    shape = rng.randrange(6)
    if shape == 0:
        return json.dumps(_random_json(rng)).encode(), "application/json"
    if shape == 1:
        return batch.encode()[: rng.randrange(len(batch))], "application/json"
    if shape == 2:
        return _flip(rng, batch.encode(), rng.randrange(1, 8)), "application/json"
    if shape == 3:
        depth = rng.randrange(20, 200)
        return ("[" * depth + "]" * depth).encode(), "application/json"
    if shape == 4:
        return batch.encode(), rng.choice(["text/plain", "application/xml", ""])
    return batch.encode(), "application/json"


def _truncated(rng: random.Random, raw: bytes) -> bytes:
    return raw[: rng.randrange(1, max(2, len(raw)))]


def _flipped(rng: random.Random, raw: bytes) -> bytes:
    return _flip(rng, raw, rng.randrange(1, 40))


def _broken_boundaries(rng: random.Random, raw: bytes) -> bytes:
    return raw.replace(b"boundary=", b"boundary=x").replace(b"--", b"-")


def _broken_headers(rng: random.Random, raw: bytes) -> bytes:
    head, separator, body = raw.partition(b"\r\n\r\n")
    return head.replace(b": ", b" ", rng.randrange(1, 6)) + separator + body


def _garbage(rng: random.Random, raw: bytes) -> bytes:
    noise = bytes(rng.randrange(256) for _ in range(rng.randrange(10, 400)))
    return raw + b"\r\n" + noise + b"\x00\x00\r\n"


def _long_header(rng: random.Random, raw: bytes) -> bytes:
    return b"X-Fuzz: " + b"a" * rng.randrange(2000, 100_000) + b"\r\n" + raw


MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    _truncated,
    _flipped,
    _broken_boundaries,
    _broken_headers,
    _garbage,
    _long_header,
)


def malformed_mail(rng: random.Random, raw: bytes, message_id: str) -> bytes:
    """A sample mail mutated, its Message-ID (first line, untouched) replaced by `message_id`."""
    mutated = rng.choice(MUTATIONS)(rng, raw)
    return with_message_id(b"X-Fuzzed: yes\r\n" + mutated, message_id)
