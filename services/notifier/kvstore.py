"""The notifier's small state beside the ledger, in the same bucket under its own key prefixes:

- `pending.<department>.<kind>.<alert id>`: alerts waiting to be sent as one grouped message;
  durable, so an alert acknowledged on the stream is never lost before its message goes out.
- `told.<alert id>`: an alert whose group went out; a replay of it is not told again.
- `case.<department>.<case id>`: the digest's view of each case (services/notifier/digest.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from schemas.events import Alert
from schemas.vocab import AlertKind
from services.common.kvread import live_entries
from services.notifier.digest import CaseView


@dataclass(frozen=True)
class PendingAlert:
    key: str
    arrived_at: datetime
    alert: Alert


@dataclass(frozen=True)
class AlertGroup:
    department: str
    kind: AlertKind
    members: tuple[PendingAlert, ...]

    @property
    def alerts(self) -> list[Alert]:
        return [member.alert for member in self.members]


def due_groups(pending: list[PendingAlert], now: datetime, window: timedelta) -> list[AlertGroup]:
    """The groups whose window has closed. A group is every alert of one (department, kind) that
    arrived within `window` of its first: the same members however often this is asked, so a
    restart mid-flush rebuilds the same group and the same notice ids."""
    by_group: dict[tuple[str, AlertKind], list[PendingAlert]] = {}
    for item in sorted(pending, key=lambda p: (p.arrived_at, p.alert.event_id)):
        by_group.setdefault((item.alert.department, item.alert.kind), []).append(item)
    groups: list[AlertGroup] = []
    for (department, kind), items in sorted(by_group.items()):
        closes = items[0].arrived_at + window
        if now < closes:
            continue
        members = tuple(item for item in items if item.arrived_at <= closes)
        groups.append(AlertGroup(department, kind, members))
    return groups


class PendingAlerts:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def add(self, alert: Alert, arrived_at: datetime) -> None:
        try:
            await self._kv.get(f"told.{alert.event_id}")
        except KeyNotFoundError:
            pass
        else:
            return  # a replay of an alert whose message already went out
        key = f"pending.{alert.department}.{alert.kind.value}.{alert.event_id}"
        record = {"arrived_at": arrived_at.isoformat(), "alert": alert.model_dump(mode="json")}
        try:
            await self._kv.create(key, json.dumps(record).encode())
        except KeyWrongLastSequenceError:
            return  # a redelivery of an alert already waiting: its first arrival counts

    async def all(self) -> list[PendingAlert]:
        found = []
        for key, entry in (await live_entries(self._kv, "pending.>")).items():
            record = json.loads(entry.value or b"{}")
            found.append(
                PendingAlert(
                    key,
                    datetime.fromisoformat(record["arrived_at"]),
                    Alert.model_validate(record["alert"]),
                )
            )
        return found

    async def remove(self, group: AlertGroup) -> None:
        for member in group.members:
            await self._kv.put(f"told.{member.alert.event_id}", b"1")
            await self._kv.delete(member.key)


class CaseViews:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def update(
        self, department: str, case_id: str, change: Callable[[CaseView | None], CaseView]
    ) -> None:
        """Compare-and-set, so two events about one case never overwrite each other."""
        key = f"case.{department}.{case_id}"
        while True:
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError:
                try:
                    await self._kv.create(key, change(None).model_dump_json().encode())
                except KeyWrongLastSequenceError:
                    continue
                return
            current = CaseView.model_validate_json(entry.value or b"{}")
            updated = change(current)
            if updated == current:
                return
            try:
                await self._kv.update(key, updated.model_dump_json().encode(), last=entry.revision)
            except KeyWrongLastSequenceError:
                continue
            return

    async def remove(self, department: str, case_id: str) -> None:
        await self._kv.delete(f"case.{department}.{case_id}")

    async def of_department(self, department: str) -> dict[str, CaseView]:
        prefix = f"case.{department}."
        return {
            key.removeprefix(prefix): CaseView.model_validate_json(entry.value or b"{}")
            for key, entry in (await live_entries(self._kv, prefix + ">")).items()
        }
