"""How far a set of mails has come through the pipeline, updated event by event (no rescans)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from devtools.harness.events import Seen


@dataclass
class Progress:
    """Follows the cases of the mails with the given Message-IDs.

    A mail is done when it is routed (with an assignee unless it is privat), its assignee has a
    notice, and, when the routed class is arkivverdig, it is archived and completed. With
    `archive=False` archiving is not waited for (the non-archive path).
    """

    message_ids: set[str]
    archive: bool = True
    cases: dict[str, str] = field(default_factory=dict)
    firsts: dict[tuple[str, str], float] = field(default_factory=dict)
    routed: dict[str, dict[str, Any]] = field(default_factory=dict)
    noticed: set[tuple[str, str]] = field(default_factory=set)
    types: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    done: set[str] = field(default_factory=set)
    _position: int = field(default=0, init=False)

    def _take(self, seen: Seen) -> None:
        payload = seen.payload
        kind = payload.get("type")
        case = payload.get("case_id")
        if not isinstance(kind, str) or not isinstance(case, str):
            return
        if kind == "received" and payload.get("internet_message_id") in self.message_ids:
            self.cases[case] = payload["internet_message_id"]
        if kind == "notice_sent":
            if payload.get("kind") != "assigned":
                return
            self.noticed.add((case, payload["recipient"]["address"]))
        if kind == "routed":
            self.routed[case] = payload
        self.types[kind].add(case)
        self.firsts.setdefault((kind, case), seen.at)

    def __call__(self, seen: list[Seen]) -> bool:
        touched = set()
        for event in seen[self._position :]:
            self._take(event)
            touched.add(event.payload.get("case_id"))
        self._position = len(seen)
        self.done |= {c for c in touched if c in self.cases and self.case_done(c)}
        return len(self.done) == len(self.message_ids)

    def case_done(self, case: str) -> bool:
        routed = self.routed.get(case)
        if routed is None:
            return False
        assignee = routed.get("assignee")
        if assignee is None:
            return routed.get("mail_class") == "privat"
        if (case, assignee["address"]) not in self.noticed:
            return False
        if self.archive and routed.get("mail_class") == "arkivverdig":
            return case in self.types["archived"] and case in self.types["completed"]
        return True

    def pending(self) -> int:
        return len(self.message_ids) - len(self.done)
