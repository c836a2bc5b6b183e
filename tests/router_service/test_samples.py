"""The sample mail of `samples/` through the emulator, the real classifier and the router (R5, R8,
R9d, R10, R11): routed to the labelled department, one caseworker visible in Outlook."""

from __future__ import annotations

import json
from typing import Any

from schemas.events import MailClassified, MailReceived
from schemas.vocab import AssignmentPolicy, MailClass
from services.classifier.received import classify_received
from services.common.app import ServiceApp
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.received import official_recipient
from services.common.settings import Settings
from services.router.outlook import ASSIGNED_PREFIX, CLASS_CATEGORIES
from tests.conftest import SAMPLES
from tests.support.events import event_log
from tests.support.signing import TEST_KEYS

from .support import Mailroom

DEPARTMENT_ACCURACY = 0.90


def _shared_labels() -> list[dict[str, Any]]:
    lines = (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    labels = [json.loads(line) for line in lines if line.strip()]
    return [label for label in labels if label["mailbox_kind"] == "shared"]


async def test_samples_are_routed_to_their_department_with_one_assignee_in_outlook(
    router: ServiceApp, mailroom: Mailroom, settings: Settings, org: Organisation
) -> None:  # R5, R8, R9d, R10, R11
    cases: list[tuple[dict[str, Any], MailReceived, MailClassified]] = []
    async with event_log(settings) as log, router.running():
        for label in _shared_labels():
            raw = (SAMPLES / label["file"]).read_bytes()
            mailbox = official_recipient(parse_mail(raw), org)
            assert mailbox is not None, label["file"]
            received = await mailroom.receive(mailbox, raw)
            verdict = classify_received(received, raw, org, TEST_KEYS)
            await mailroom.publish(verdict)
            cases.append((label, received, verdict))
        await log.wait_for(lambda _s, p: p["type"] == "routed", count=len(cases), timeout=90)
        shown = {}
        for _label, received, _verdict in cases:
            await mailroom.written(received)
            shown[received.case_id] = await mailroom.categories(received)

    routed = {p["case_id"]: p for _s, p in log.seen if p["type"] == "routed"}
    assert len(routed) == len(cases) == len(log.matching(lambda _s, p: p["type"] == "routed"))
    alerts = log.matching(lambda _s, p: p["type"] == "alert")

    to_handle = [(label, r) for label, r, _v in cases if label["class"] != "privat"]
    right = sum(routed[r.case_id]["department"] == label["department"] for label, r in to_handle)
    accuracy = right / len(to_handle)
    print(f"department accuracy {accuracy:.3f} over {len(to_handle)} mails to handle")
    assert accuracy >= DEPARTMENT_ACCURACY

    for label, received, verdict in cases:
        event = routed[received.case_id]
        categories = shown[received.case_id]
        assigned = [c for c in categories if c.startswith(ASSIGNED_PREFIX)]
        assert CLASS_CATEGORIES[verdict.mail_class] in categories
        if event["policy"] == AssignmentPolicy.AUTO_PRIVAT:
            # R9d: private mail the classifier is sure of is closed, not handled.
            assert verdict.mail_class is MailClass.PRIVAT and verdict.confidence >= 0.9
            assert (event["status"], event["assignee"], assigned) == ("ferdig", None, [])
            assert await mailroom.flag_status(received) == "complete"
            continue
        # Everything else has exactly one caseworker, shown in Outlook (R11).
        assert event["assignee"] is not None, label["file"]
        assert assigned == [ASSIGNED_PREFIX + event["assignee"]["name"]], label["file"]
        if verdict.mail_class is MailClass.PRIVAT:
            # Unsure private mail goes to a supervisor to confirm, with an alert (R9d, R10).
            assert event["policy"] == AssignmentPolicy.SUPERVISOR
            department = org.departments[event["department"]]
            assert event["assignee"]["id"] in department.supervisors
            assert any(
                a["case_id"] == received.case_id and a["kind"] == "confirm_private"
                for _s, a in alerts
            )
        else:
            assert event["policy"] in (AssignmentPolicy.LOAD, AssignmentPolicy.RULE,
                                       AssignmentPolicy.THREAD)  # fmt: skip
            assert await mailroom.flag_status(received) == "flagged"
    handled = [r for label, r in to_handle if routed[r.case_id]["assignee"] is not None]
    print(f"{len(handled)} of {len(to_handle)} mails to handle have one assignee")
    assert len(handled) == len(to_handle)
