"""Corrections by people, kept as labelled examples for `sakspost classify --learn` (issue 18).

A person who changes a class (the Outlook class category, `sakspost cases classify`, later the
overview page) makes the router publish a `classified` event with `by` set; a case that a person
moves to another department comes as a `routed` event whose department is neither the mailbox's
nor the one the classifier suggested (the router itself only ever moves post@ mail to the
suggestion). Either becomes a `Correction`: case id, what changed (class or department), old and
new value, who, when. The text stays where it is, in the MIME store: a correction names the case,
never its content.

To know the old value, the store remembers the classifier's own judgement of each case (a
`classified` event without `by`). Pure derivation first; the KV store after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Literal

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from schemas.events import MailClassified, MailRouted
from schemas.vocab import MailClass
from services.common.jetstream import BucketSpec
from services.common.kvread import live_entries

CORRECTIONS_BUCKET = "sakspost_corrections"
CORRECTIONS = BucketSpec(
    CORRECTIONS_BUCKET,
    description="Classes and departments people corrected, and the classifier's own judgement "
    "per case; the classifier writes",
)
Field = Literal["class", "department"]


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the classifier said about a case: the old value of a later correction."""

    case_id: str
    mail_class: MailClass
    suggested_department: str | None
    model_version: str | None
    # The mail's MIME in the Object Store, learnt from the case's `routed` event: where `--learn`
    # reads the text of a corrected mail (the text itself is never copied here).
    mime_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    case_id: str
    field: Field
    old: str | None  # None: the classifier's judgement was not seen (e.g. before this store)
    new: str
    by: str | None  # staff id, else address; None where the event names nobody
    at: datetime
    event_id: str
    model_version: str | None = None  # the model whose judgement was corrected
    mime_sha256: str | None = None  # the mail, in the MIME store

    def to_json(self) -> str:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Correction:
        data = json.loads(line)
        if data.get("field") not in ("class", "department"):
            raise ValueError(f"not a correction: field {data.get('field')!r}")
        if data["field"] == "class":
            MailClass(data["new"])  # a class must be one of the three
        return cls(**{**data, "at": datetime.fromisoformat(data["at"])})


def judgement_of(event: MailClassified) -> Judgement | None:
    """The classifier's own judgement; None for a person's correction."""
    if event.by is not None:
        return None
    return Judgement(
        event.case_id, event.mail_class, event.suggested_department, event.model_version
    )


def _who(event: MailClassified) -> str | None:
    if event.by is None:
        return None
    return event.by.id or event.by.address


def correction_from_classified(
    event: MailClassified, judged: Judgement | None
) -> Correction | None:
    """A person set the class (`by` is set) to something other than the classifier's."""
    if event.by is None:
        return None
    old = judged.mail_class.value if judged else None
    if old == event.mail_class.value:
        return None
    return Correction(
        case_id=event.case_id,
        field="class",
        old=old,
        new=event.mail_class.value,
        by=_who(event),
        at=event.occurred_at,
        event_id=event.event_id,
        model_version=judged.model_version if judged else None,
        mime_sha256=judged.mime_sha256 if judged else None,
    )


def correction_from_routed(event: MailRouted, judged: Judgement | None) -> Correction | None:
    """A move by a person: the case left its mailbox's department (`previous_department` is set)
    for a department the classifier did not suggest. Without the classifier's judgement a move
    cannot be told apart from the router's own, so nothing is recorded."""
    if judged is None or event.previous_department is None:
        return None
    if event.department == judged.suggested_department:
        return None
    return Correction(
        case_id=event.case_id,
        field="department",
        old=judged.suggested_department,
        new=event.department,
        # `routed` names no actor; the assignee is not necessarily who moved it.
        by=None,
        at=event.occurred_at,
        event_id=event.event_id,
        model_version=judged.model_version,
        mime_sha256=event.mime_sha256 or judged.mime_sha256,
    )


def parse_corrections(lines: Iterable[str], source: str = "corrections") -> list[Correction]:
    """A JSONL export (one `Correction.to_json()` a line); the latest per case and field wins."""
    latest: dict[tuple[str, str], Correction] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            correction = Correction.from_json(line)
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{source}:{number}: not a correction ({error})") from None
        key = (correction.case_id, correction.field)
        if key not in latest or latest[key].at <= correction.at:
            latest[key] = correction
    return sorted(latest.values(), key=lambda c: (c.at, c.case_id, c.field))


def _case_key(prefix: str, case_id: str) -> str:
    # Case ids are tokens today; a digest keeps keys valid whatever a future id holds.
    return f"{prefix}.{hashlib.sha256(case_id.encode()).hexdigest()[:40]}"


class CorrectionStore:
    """Bucket `sakspost_corrections`: `j.<case>` the classifier's judgement, `c.<case>.<field>`
    the latest correction of that field (a later correction of the same case replaces it)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def judgement(self, case_id: str) -> Judgement | None:
        try:
            entry = await self._kv.get(_case_key("j", case_id))
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        data = json.loads(entry.value)
        return Judgement(
            data["case_id"],
            MailClass(data["mail_class"]),
            data["suggested_department"],
            data["model_version"],
            data.get("mime_sha256"),
        )

    async def _remember(self, judged: Judgement) -> None:
        value = {**asdict(judged), "mail_class": judged.mail_class.value}
        await self._kv.put(_case_key("j", judged.case_id), json.dumps(value).encode())

    async def observe(self, event: MailClassified | MailRouted) -> Correction | None:
        """Remember the classifier's judgement, or record a person's correction (returned)."""
        if isinstance(event, MailClassified):
            judged = judgement_of(event)
            if judged is not None:
                await self._remember(judged)
                return None
            correction = correction_from_classified(event, await self.judgement(event.case_id))
        else:
            judged = await self.judgement(event.case_id)
            if judged is not None and judged.mime_sha256 is None and event.mime_sha256:
                judged = replace(judged, mime_sha256=event.mime_sha256)
                await self._remember(judged)
            correction = correction_from_routed(event, judged)
        if correction is not None:
            key = f"{_case_key('c', correction.case_id)}.{correction.field}"
            await self._kv.put(key, correction.to_json().encode())
        return correction

    async def corrections(self) -> list[Correction]:
        entries = await live_entries(self._kv, "c.>")
        lines = [entry.value.decode() for entry in entries.values() if entry.value]
        return parse_corrections(lines, CORRECTIONS_BUCKET)
