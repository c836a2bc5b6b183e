"""The open cases and the round-robin rotation, as one value every router replica shares (R11).

Assignment by load needs every open case's assignee, and ties rotate; both must stay right when two
replicas assign at the same moment. The wiring keeps one `Workboard` in KV and changes it only with
compare-and-set, so concurrent decisions are serialised.

Entries are keyed by case, so bringing the board in line with a case record is idempotent: doing it
again after a lost compare-and-set or a crash changes nothing, and a stale entry heals the next
time its case changes.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from services.router.assignment import Rotation
from services.router.record import CaseRecord


class Workboard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    open_cases: dict[str, str | None] = Field(
        default_factory=dict, description="Every open case id and its assignee's staff id"
    )
    rotation: Rotation = Field(default_factory=Rotation)

    def open_counts(self, excluding: str | None = None) -> dict[str, int]:
        """Open cases per assignee, leaving out one case (the one being decided)."""
        counted = Counter(
            assignee
            for case_id, assignee in self.open_cases.items()
            if assignee is not None and case_id != excluding
        )
        return dict(counted)

    def synced(self, record: CaseRecord) -> Workboard:
        """The board with `record`'s case as it is now: listed while open, gone once Ferdig."""
        entries = dict(self.open_cases)
        if record.is_open:
            entries[record.case_id] = record.assignee
        else:
            entries.pop(record.case_id, None)
        return self.model_copy(update={"open_cases": entries})

    def claimed(self, record: CaseRecord, rotation: Rotation) -> Workboard:
        """The board with a routing decision taken: `record`'s case and the rotation after it."""
        return self.synced(record).model_copy(update={"rotation": rotation})
