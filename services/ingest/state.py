"""Ingest's state in the `sakspost_ingest` KV bucket, so a restart or another replica resumes.

Keys (ingest is the bucket's only writer):
- `subscriptions`: every watched mailbox's subscription (id, clientState secret, expiry), one JSON
  map updated with compare-and-set;
- `delta.<department>.<folder>`: the folder's last deltaLink and when the round ran;
- `lease`: which replica does subscription upkeep and delta, and until when;
- `message.<graph id>`: what ingest last saw of a message (its case, folder, flag, categories,
  change key), so a change or deletion is recognised without asking Graph about the past;
- `owner.<case id>`: what owns the case id (the Graph immutable id of its message; for a sealed
  Sakspost forward, the SHA-256 of the original it carries), claimed with create-if-absent before
  its `received` is published: the same Graph message is always the same case, and a different
  one with the same Message-ID gets its own, derived case id (services/ingest/clash.py, R13);
- `received.<case id>`: the case's `received` event was published (dedupe beyond the stream's
  duplicate window);
- `sent.<graph id>`: a Sent Items mail of a shared mailbox was handled (its `sent` event
  published, or it was Sakspost's own notice or forward): it is never read again (R14, R2, R3);

Ingest also reads the router's bucket `sakspost_writebacks` (`WritebackLog`): `writeback.<graph
id>` is written by the router around each Outlook write-back (services/common/writeback.py):
`pending:<time>` before the PATCH, then the change key it answered with and the categories and
flag it wrote. A notification carrying that change key is our own write and is skipped without
reading Graph; while a fresh `pending` mark stands, the notification waits. A message read later
is a change when it differs from what we wrote, too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, TypeAdapter

from services.common.writeback import graph_id_token
from services.ingest.notifications import KnownSubscription

SUBSCRIPTIONS_KEY = "subscriptions"
LEASE_KEY = "lease"


def message_key(graph_id: str) -> str:
    return f"message.{graph_id_token(graph_id)}"


def received_key(case_id: str) -> str:
    return f"received.{case_id}"


def owner_key(case_id: str) -> str:
    return f"owner.{case_id}"


def sent_key(graph_id: str) -> str:
    return f"sent.{graph_id_token(graph_id)}"


def delta_key(department: str, folder: str) -> str:
    return f"delta.{department}.{folder}"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SubscriptionRecord(_Record):
    id: str
    mailbox: str
    client_state: str
    expires: datetime
    # The certificate Graph encrypts its resource data for; None: made without resource data
    # (before they were used, or with them off), so replaced when they are wanted.
    certificate_id: str | None = None

    def known(self, department: str) -> KnownSubscription:
        return KnownSubscription(
            self.id, department, self.mailbox, self.client_state, self.expires, self.certificate_id
        )


class DeltaRecord(_Record):
    link: str | None
    at: datetime


class MessageRecord(_Record):
    case_id: str
    department: str
    mailbox: str
    folder: str  # well-known folder name, or "other"
    categories: list[str]
    flag_status: str | None
    change_key: str | None
    removed: bool = False  # gone from the mailbox for good


_SUBSCRIPTIONS = TypeAdapter(dict[str, SubscriptionRecord])


@dataclass(frozen=True)
class Versioned:
    """A value with the KV revision it was read at (0: the key does not exist)."""

    subscriptions: dict[str, SubscriptionRecord]
    revision: int


class IngestState:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def _get(self, key: str) -> tuple[bytes | None, int]:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None, 0
        return entry.value, entry.revision or 0

    async def _put(self, key: str, value: bytes, revision: int) -> bool:
        """Compare-and-set; False when someone else wrote first."""
        try:
            if revision == 0:
                await self.kv.create(key, value)
            else:
                await self.kv.update(key, value, last=revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    # --- subscriptions --------------------------------------------------------------------

    async def subscriptions(self) -> Versioned:
        value, revision = await self._get(SUBSCRIPTIONS_KEY)
        if not value:
            return Versioned({}, revision)
        return Versioned(_SUBSCRIPTIONS.validate_json(value), revision)

    async def save_subscription(self, department: str, record: SubscriptionRecord | None) -> None:
        """Set (or with None remove) one department's subscription, retrying on a race."""
        while True:
            current = await self.subscriptions()
            updated = dict(current.subscriptions)
            if record is None:
                updated.pop(department, None)
            else:
                updated[department] = record
            if await self._put(
                SUBSCRIPTIONS_KEY, _SUBSCRIPTIONS.dump_json(updated), current.revision
            ):
                return

    # --- delta links ----------------------------------------------------------------------

    async def delta(self, department: str, folder: str) -> tuple[DeltaRecord | None, int]:
        value, revision = await self._get(delta_key(department, folder))
        return (DeltaRecord.model_validate_json(value) if value else None), revision

    async def save_delta(
        self, department: str, folder: str, record: DeltaRecord, revision: int
    ) -> bool:
        data = record.model_dump_json().encode()
        return await self._put(delta_key(department, folder), data, revision)

    # --- messages -------------------------------------------------------------------------

    async def message(self, graph_id: str) -> MessageRecord | None:
        value, _ = await self._get(message_key(graph_id))
        return MessageRecord.model_validate_json(value) if value else None

    async def save_message(self, graph_id: str, record: MessageRecord) -> None:
        await self.kv.put(message_key(graph_id), record.model_dump_json().encode())

    async def claim_case(self, case_id: str, identity: str) -> str:
        """What owns `case_id`: `identity` when it is the first to claim it."""
        key = owner_key(case_id)
        while not await self._put(key, identity.encode(), 0):
            value, _ = await self._get(key)
            if value is not None:
                return value.decode()
            # Deleted between the two reads (a purge): claim it again.
        return identity

    async def was_received(self, case_id: str) -> bool:
        value, _ = await self._get(received_key(case_id))
        return value is not None

    async def mark_received(self, case_id: str) -> None:
        await self.kv.put(received_key(case_id), b"1")

    async def was_sent(self, graph_id: str) -> bool:
        value, _ = await self._get(sent_key(graph_id))
        return value is not None

    async def mark_sent(self, graph_id: str) -> None:
        await self.kv.put(sent_key(graph_id), b"1")
