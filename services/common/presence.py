"""Who of a department is away (Outlook's automatic replies on), as the router last saw it: the
value of `away.<department>` in the cases bucket, which the router writes and the overview reads
for its load table (R10, R11). The router reads automatic replies anyway to assign and to alert;
it records what it saw once a minute, and only when it changed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import UtcDateTime

AWAY_PREFIX = "away."


class Presence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    department: str
    away: list[str] = Field(default_factory=list, description="Staff ids, sorted")
    checked_at: UtcDateTime


def away_key(department: str) -> str:
    return AWAY_PREFIX + department
