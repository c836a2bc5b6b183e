"""From delivery times and first sightings of each event to latencies and stage times (pure).

Every time is a reading of the same monotonic clock in the benchmark process: the moment SMTP
accepted the mail (the emulator notifies ingest at once) and the moment each event arrived here.
"""

from __future__ import annotations

from dataclasses import dataclass

# End-to-end: from the Graph notification to the event.
END_TO_END = {"routed": "routed", "notice": "notice_sent", "archived": "archived"}
# Each stage: (name, from event, to event); "delivered" is the SMTP delivery.
STAGES = (
    ("ingest", "delivered", "received"),
    ("classify", "received", "classified"),
    ("route", "classified", "routed"),
    ("notify", "routed", "notice_sent"),
    ("archive", "routed", "archived"),
    ("complete", "archived", "completed"),
)


@dataclass(frozen=True)
class Timeline:
    """Per case: event type → the first time it was seen (plus "delivered")."""

    cases: dict[str, dict[str, float]]

    @classmethod
    def build(
        cls,
        delivered: dict[str, float],
        case_message_ids: dict[str, str],
        firsts: dict[tuple[str, str], float],
    ) -> Timeline:
        cases: dict[str, dict[str, float]] = {
            case: {"delivered": delivered[message_id]}
            for case, message_id in case_message_ids.items()
            if message_id in delivered
        }
        for (kind, case), at in firsts.items():
            if case in cases:
                cases[case][kind] = at
        return cls(cases)

    def between(self, start: str, end: str) -> list[float]:
        """Milliseconds from `start` to `end` for every case that has both."""
        return [
            (times[end] - times[start]) * 1000
            for times in self.cases.values()
            if start in times and end in times
        ]

    def span_seconds(self, end: str) -> float:
        """From the first delivery to the last `end` event."""
        starts = [t["delivered"] for t in self.cases.values()]
        ends = [t[end] for t in self.cases.values() if end in t]
        return max(ends) - min(starts) if starts and ends else 0.0

    def count(self, kind: str) -> int:
        return sum(kind in times for times in self.cases.values())
