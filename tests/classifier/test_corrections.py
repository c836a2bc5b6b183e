"""Learning from corrections, never silently (issue 18): a person's class change or department
move becomes a correction record (case, old, new, who, when); the classifier's own judgements and
the router's own moves do not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from schemas.events import MailClassified, MailRouted, Party
from schemas.vocab import AssignmentPolicy, MailClass
from services.classifier.corrections import (
    CORRECTIONS,
    CORRECTIONS_BUCKET,
    Correction,
    CorrectionStore,
    correction_from_classified,
    correction_from_routed,
    judgement_of,
    parse_corrections,
)
from tests.support.latedelivery import deliveries_after_replies

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CASE = "c0ffee"


def classified(
    mail_class: MailClass, by: Party | None = None, suggested: str | None = "bygg"
) -> MailClassified:
    return MailClassified(
        event_id=f"cl-{mail_class.value}-{by is not None}",
        case_id=CASE,
        occurred_at=AT,
        department="post",
        mail_class=mail_class,
        confidence=1.0 if by else 0.7,
        suggested_department=None if by else suggested,
        model_version=None if by else "2026.12.06-x",
        by=by,
    )


def routed(department: str, previous: str | None) -> MailRouted:
    return MailRouted(
        event_id=f"ro-{department}",
        case_id=CASE,
        occurred_at=AT,
        department=department,
        mail_class=MailClass.ARKIVVERDIG,
        assignee=None,
        policy=AssignmentPolicy.LOAD,
        previous_department=previous,
    )


PERSON = Party(address="siv.lerbrekk@ha.kommune.no", id="siv.lerbrekk")


def test_a_persons_class_change_is_a_correction() -> None:
    judged = judgement_of(classified(MailClass.OFFISIELL))
    assert judged is not None and judged.model_version == "2026.12.06-x"
    correction = correction_from_classified(classified(MailClass.ARKIVVERDIG, PERSON), judged)
    assert correction == Correction(
        case_id=CASE,
        field="class",
        old="offisiell",
        new="arkivverdig",
        by="siv.lerbrekk",
        at=AT,
        event_id="cl-arkivverdig-True",
        model_version="2026.12.06-x",
    )


def test_the_classifiers_own_event_and_a_confirmation_are_not_corrections() -> None:
    judged = judgement_of(classified(MailClass.OFFISIELL))
    assert correction_from_classified(classified(MailClass.OFFISIELL), judged) is None
    assert judgement_of(classified(MailClass.OFFISIELL, PERSON)) is None
    # A person who sets the class the classifier gave corrects nothing.
    assert correction_from_classified(classified(MailClass.OFFISIELL, PERSON), judged) is None


def test_a_move_to_another_department_than_suggested_is_a_correction() -> None:
    judged = judgement_of(classified(MailClass.ARKIVVERDIG, suggested="bygg"))
    correction = correction_from_routed(routed("kultur", previous="post"), judged)
    assert correction is not None
    assert (correction.field, correction.old, correction.new) == ("department", "bygg", "kultur")
    # The router's own move to the suggestion, and a case that stays, are not.
    assert correction_from_routed(routed("bygg", previous="post"), judged) is None
    assert correction_from_routed(routed("post", previous=None), judged) is None
    # Without the judgement a move cannot be told from the router's own.
    assert correction_from_routed(routed("kultur", previous="post"), None) is None


def test_jsonl_export_round_trips_and_keeps_the_latest_per_case_and_field() -> None:
    first = Correction(CASE, "class", "offisiell", "arkivverdig", "a", AT, "e1")
    later = Correction(CASE, "class", "offisiell", "privat", "b", AT.replace(hour=11), "e2", "m.1")
    other = Correction("beef", "department", "bygg", "kultur", None, AT, "e3")
    lines = [later.to_json(), "", first.to_json(), other.to_json()]
    assert parse_corrections(lines) == [other, later]


def test_a_broken_line_is_named() -> None:
    good = Correction(CASE, "class", None, "arkivverdig", None, AT, "e").to_json()
    with pytest.raises(ValueError, match=r"^export\.jsonl:1:"):
        parse_corrections(["{}", good], "export.jsonl")
    with pytest.raises(ValueError, match=r"^export\.jsonl:2:"):
        parse_corrections([good, good.replace("arkivverdig", "viktig")], "export.jsonl")


async def test_the_store_remembers_judgements_and_records_corrections(
    js: JetStreamContext, connect_as: Callable[[str], Awaitable[Client]]
) -> None:
    # Provisioned as the classifier's layout declares it; the classifier is its one writer.
    assert CORRECTIONS.name == CORRECTIONS_BUCKET
    provisioned = await js.key_value(CORRECTIONS_BUCKET)
    assert (await provisioned.status()).history == CORRECTIONS.history
    kv = await (await connect_as("classifier")).jetstream().key_value(CORRECTIONS_BUCKET)
    store = CorrectionStore(kv)
    assert await store.corrections() == []
    assert await store.observe(classified(MailClass.OFFISIELL, suggested="bygg")) is None
    judged = await store.judgement(CASE)
    assert judged is not None and judged.suggested_department == "bygg"
    moved = await store.observe(routed("kultur", previous="post"))
    changed = await store.observe(classified(MailClass.ARKIVVERDIG, PERSON))
    assert moved is not None and changed is not None
    assert await store.corrections() == sorted(
        [moved, changed], key=lambda c: (c.at, c.case_id, c.field)
    )


async def test_corrections_are_all_read_when_deliveries_arrive_late(
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:
    connection = await connect_as("classifier")
    store = CorrectionStore(await connection.jetstream().key_value(CORRECTIONS_BUCKET))
    await store.observe(classified(MailClass.OFFISIELL, suggested="bygg"))
    moved = await store.observe(routed("kultur", previous="post"))
    assert moved is not None
    with deliveries_after_replies(connection) as held:
        assert await store.corrections() == [moved]
    assert held
