"""A department's open cases and its round-robin rotation, as one value every router replica shares
(R11).

Assignment by load needs every open case's assignee, and ties rotate; both must stay right when two
replicas assign at the same moment. The wiring keeps one `Workboard` per department in KV and
changes it only with compare-and-set, so concurrent decisions within a department are serialised,
while departments never wait for each other: candidates, the claim and the rotation are all the
department's own.

Entries are keyed by case, so bringing a board in line with a case record is idempotent: doing it
again after a lost compare-and-set or a crash changes nothing. A case is listed on the board of the
department that owns it, and only while open; an entry elsewhere (the case moved on to another
department, or closed, and a crash came between the writes) is stale and heals the next time the
case changes or the watch passes the board (`synced`).
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from services.router.assignment import Rotation
from services.router.record import CaseRecord


class Workboard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str
    open_cases: dict[str, str | None] = Field(
        default_factory=dict, description="The department's open case ids and their assignees"
    )
    last_picked: str | None = Field(
        default=None, description="The caseworker `load` picked last here, for ties to rotate"
    )

    @property
    def rotation(self) -> Rotation:
        """The round-robin state as the assignment policies take it."""
        picked = {} if self.last_picked is None else {self.department: self.last_picked}
        return Rotation(last_picked=picked)

    def open_counts(self, excluding: str | None = None) -> Counter[str]:
        """Open cases per assignee, leaving out one case (the one being decided)."""
        return Counter(
            assignee
            for case_id, assignee in self.open_cases.items()
            if assignee is not None and case_id != excluding
        )

    def synced(self, record: CaseRecord) -> Workboard:
        """The board with `record`'s case as it is now: listed while open and owned here, gone
        otherwise."""
        listed = self.open_cases.get(record.case_id, _ABSENT)
        wanted = (
            record.assignee if record.is_open and record.department == self.department else _ABSENT
        )
        if listed == wanted:
            return self
        entries = dict(self.open_cases)
        if wanted is _ABSENT:
            del entries[record.case_id]
        else:
            entries[record.case_id] = record.assignee
        return self.model_copy(update={"open_cases": entries})

    def claimed(self, record: CaseRecord, rotation: Rotation) -> Workboard:
        """The board with a routing decision taken: `record`'s case and the rotation after it."""
        last = rotation.last_picked.get(self.department, self.last_picked)
        return self.synced(record).model_copy(update={"last_picked": last})


# Tells "not listed" apart from "listed, unassigned" (None).
_ABSENT = object()


class LegacyWorkboard(BaseModel):
    """The single board of every department that versions before the split kept in one key; read
    only to migrate it (`migration.py`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    open_cases: dict[str, str | None] = Field(default_factory=dict)
    rotation: Rotation = Field(default_factory=Rotation)
