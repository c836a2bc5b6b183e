"""What Sakspost keeps about personal mailboxes, in ingest's KV bucket: never mail content.

Keys:
- `personal.optin.<staff>`: the person opted in or out, when, recorded by whom (R9c, R15);
- `personal.consent.<staff>`: consent to an offboarding sweep, when, recorded by whom (R16);
- `personal.subscriptions`: the personal folders' subscriptions (id, clientState, expiry);
- `personal.delta.<staff>.<folder>`: the folder's delta link (a cursor);
- `personal.sweep.<staff>`: the sweep's checkpoint: the next page's link, how many were read,
  the Graph ids of the official mail found and forwarded so far;
- `personal.mail.<staff>.<graph id>`: what the watch did with one Inbox mail, `forwarded` or
  `asked` (its owner was asked to send it with the category), so that neither happens twice.
  Private mail left alone leaves no key.

Opting out deletes the subscriptions and every cursor and mark of that person (`forget`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from services.common.kvread import live_keys
from services.common.orgconfig import Organisation, StaffMember
from services.common.writeback import graph_id_token
from services.ingest.state import SubscriptionRecord

PREFIX = "personal"
SUBSCRIPTIONS_KEY = f"{PREFIX}.subscriptions"
FOLDERS = ("inbox", "sentitems")


def _token(staff_id: str) -> str:
    return graph_id_token(staff_id)


def optin_key(staff_id: str) -> str:
    return f"{PREFIX}.optin.{_token(staff_id)}"


def consent_key(staff_id: str) -> str:
    return f"{PREFIX}.consent.{_token(staff_id)}"


def delta_key(staff_id: str, folder: str) -> str:
    return f"{PREFIX}.delta.{_token(staff_id)}.{folder}"


def sweep_key(staff_id: str) -> str:
    return f"{PREFIX}.sweep.{_token(staff_id)}"


def _mail_prefix(staff_id: str) -> str:
    return f"{PREFIX}.mail.{_token(staff_id)}"


def mail_key(staff_id: str, graph_id: str) -> str:
    return f"{_mail_prefix(staff_id)}.{graph_id_token(graph_id)}"


Outcome = Literal["forwarded", "asked"]


def folder_key(staff_id: str, folder: str) -> str:
    """One watched folder of one person: the key of its subscription and its wake-up."""
    return f"{staff_id}/{folder}"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Decision(_Record):
    """An opt-in or opt-out, or a consent, with who recorded it and when."""

    staff_id: str
    opted_in: bool
    at: datetime
    by: str
    request_id: str | None = Field(
        default=None, description="The command that recorded it: a repeat records nothing new"
    )


class SweepCheckpoint(_Record):
    next_link: str | None = None
    read: int = 0
    found: list[str] = Field(default_factory=list, description="Graph ids of official mail")
    done: bool = Field(default=False, description="Every page is read")
    forwarded: list[str] = Field(default_factory=list)
    reported: bool = Field(default=False, description="The owner has the report: finished")


_SUBSCRIPTIONS = TypeAdapter(dict[str, SubscriptionRecord])


class PersonalState:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def _get(self, key: str) -> tuple[bytes | None, int]:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None, 0
        return entry.value, entry.revision or 0

    async def _forget(self, key: str) -> None:
        value, _ = await self._get(key)
        if value:
            await self.kv.delete(key)

    # --- opt-in and consent ---------------------------------------------------------------

    async def decision(self, staff_id: str) -> Decision | None:
        value, _ = await self._get(optin_key(staff_id))
        return Decision.model_validate_json(value) if value else None

    async def decide(self, decision: Decision) -> None:
        await self.kv.put(optin_key(decision.staff_id), decision.model_dump_json().encode())

    async def is_opted_in(self, member: StaffMember) -> bool:
        """A recorded decision wins over the organisation file's `personal_opt_in`."""
        decision = await self.decision(member.id)
        return decision.opted_in if decision is not None else member.personal_opt_in

    async def opted_in(self, org: Organisation) -> list[StaffMember]:
        return [member for member in org.staff if await self.is_opted_in(member)]

    async def consent(self, staff_id: str) -> Decision | None:
        value, _ = await self._get(consent_key(staff_id))
        return Decision.model_validate_json(value) if value else None

    async def record_consent(self, decision: Decision) -> None:
        await self.kv.put(consent_key(decision.staff_id), decision.model_dump_json().encode())

    # --- subscriptions and delta cursors --------------------------------------------------

    async def subscriptions(self) -> dict[str, SubscriptionRecord]:
        value, _ = await self._get(SUBSCRIPTIONS_KEY)
        return _SUBSCRIPTIONS.validate_json(value) if value else {}

    async def save_subscription(self, key: str, record: SubscriptionRecord | None) -> None:
        """Set (or with None remove) one folder's subscription, retrying on a race."""
        while True:
            value, revision = await self._get(SUBSCRIPTIONS_KEY)
            current = _SUBSCRIPTIONS.validate_json(value) if value else {}
            if record is None:
                current.pop(key, None)
            else:
                current[key] = record
            data = _SUBSCRIPTIONS.dump_json(current)
            try:
                if revision == 0:
                    await self.kv.create(SUBSCRIPTIONS_KEY, data)
                else:
                    await self.kv.update(SUBSCRIPTIONS_KEY, data, last=revision)
                return
            except KeyWrongLastSequenceError:
                continue

    async def delta_link(self, staff_id: str, folder: str) -> str | None:
        value, _ = await self._get(delta_key(staff_id, folder))
        return value.decode() if value else None

    async def save_delta_link(self, staff_id: str, folder: str, link: str) -> None:
        await self.kv.put(delta_key(staff_id, folder), link.encode())

    async def forget(self, staff_id: str) -> None:
        """Opted out: no subscription, no cursor, no checkpoint, no mark of this person remains."""
        for folder in FOLDERS:
            await self.save_subscription(folder_key(staff_id, folder), None)
            await self._forget(delta_key(staff_id, folder))
        await self._forget(sweep_key(staff_id))
        for key in await self._keys_under(_mail_prefix(staff_id)):
            await self.kv.delete(key)

    async def _keys_under(self, prefix: str) -> list[str]:
        """The live keys under `prefix`, filtered by the server (nats-py's `keys(filters=…)` would
        read every key of the bucket and match substrings)."""
        return await live_keys(self.kv, f"{prefix}.>")

    # --- what the watch did with a mail ---------------------------------------------------

    async def outcome(self, staff_id: str, graph_id: str) -> Outcome | None:
        value, _ = await self._get(mail_key(staff_id, graph_id))
        if value == b"forwarded":
            return "forwarded"
        return "asked" if value == b"asked" else None

    async def record_outcome(self, staff_id: str, graph_id: str, outcome: Outcome) -> None:
        await self.kv.put(mail_key(staff_id, graph_id), outcome.encode())

    # --- the sweep ------------------------------------------------------------------------

    async def checkpoint(self, staff_id: str) -> SweepCheckpoint:
        value, _ = await self._get(sweep_key(staff_id))
        return SweepCheckpoint.model_validate_json(value) if value else SweepCheckpoint()

    async def save_checkpoint(self, staff_id: str, checkpoint: SweepCheckpoint) -> None:
        await self.kv.put(sweep_key(staff_id), checkpoint.model_dump_json().encode())
