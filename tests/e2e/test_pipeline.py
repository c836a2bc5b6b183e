"""The whole pipeline through the running stack (`sakspost up`): sample mail delivered over SMTP to
the Graph emulator flows through ingest, classifier, router, websak and notifier.

Checks the end-to-end acceptance of issues 5–8: one received, one classified and a routed event per
mail; the labelled department; one assignee, visible in Outlook; exactly one journalpost per
archival mail, then Ferdig; exactly one notice per assigned mail (R9a, R11, R12, R13)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.received import official_recipient
from tests.conftest import SAMPLES, scaled
from tests.support.events import event_log
from tests.support.stack import running_stack

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration


def _labelled_shared_mail(org: Organisation, count: int) -> list[tuple[Path, str, dict[str, Any]]]:
    chosen = []
    for line in (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        path = SAMPLES / label["file"]
        mailbox = official_recipient(parse_mail(path.read_bytes()), org)
        if label["mailbox_kind"] == "shared" and mailbox is not None:
            chosen.append((path, mailbox, label))
    # Spread the selection over the corpus so every class and department appears.
    step = max(1, len(chosen) // count)
    return chosen[::step][:count]


def _latest(events: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for _, payload in events:
        latest[payload["case_id"]] = payload
    return latest


async def test_samples_flow_through_the_whole_stack(tmp_path: Path, org: Organisation) -> None:
    mails = _labelled_shared_mail(org, scaled(141, minimum=16))
    async with (
        running_stack(tmp_path / "stack") as stack,
        event_log(stack.settings(), "sakspost.>") as log,
    ):
        stack.deliver([(path, mailbox) for path, mailbox, _ in mails])
        received = await log.wait_for(lambda _s, p: p["type"] == "received", len(mails), 120)
        cases = {p["case_id"] for _, p in received}
        await log.wait_for(lambda _s, p: p["type"] == "classified", len(mails), 120)
        classified = _latest(log.matching(lambda _s, p: p["type"] == "classified"))
        archival = {c for c, p in classified.items() if p["mail_class"] == "arkivverdig"}
        await log.wait_for_every_case("routed", cases, 120)
        await log.wait_for_every_case("archived", archival, 180)
        await log.wait_for_every_case(
            "completed", archival, 120, predicate=lambda p: p.get("via") == "archive"
        )
        routed = _latest(log.matching(lambda _s, p: p["type"] == "routed"))
        assigned = {c for c, p in routed.items() if p["assignee"] is not None}
        await log.wait_for_every_case(
            "notice_sent", assigned, 120, predicate=lambda p: p.get("kind") == "assigned"
        )
        async with httpx.AsyncClient(base_url=stack.websak_url) as client:
            archive_state = (await client.get("/_standin/state")).json()

    # One received per mail, with the MIME's SHA-256 exactly as delivered (R13).
    assert len(received) == len(mails) == len(cases)
    digests = {p["mime_sha256"] for _, p in received}
    assert digests == {hashlib.sha256(path.read_bytes()).hexdigest() for path, _, _ in mails}
    counts = Counter((p["type"], p["case_id"]) for _, p in log.seen if "case_id" in p)
    assert all(counts[("classified", case)] == 1 for case in cases)

    # The labelled department (R5, post@ redistribution) for at least 90 %.
    by_digest = {hashlib.sha256(path.read_bytes()).hexdigest(): label for path, _, label in mails}
    case_label = {p["case_id"]: by_digest[p["mime_sha256"]] for _, p in received}
    right = sum(routed[c]["department"] == case_label[c]["department"] for c in cases)
    assert right / len(cases) >= 0.90

    # Every mail to be handled has one assignee (R11); private mail is closed or confirmed.
    for case in cases:
        if routed[case]["mail_class"] != "privat":
            assert routed[case]["assignee"] is not None, case

    # Exactly one archived event and Ferdig per archival mail (R9a, R12).
    assert all(counts[("archived", case)] == 1 for case in archival)
    assert not any(counts[("archived", case)] for case in cases - archival)
    journalposts = archive_state.get("journalposts", archive_state.get("journalposter", []))
    assert len(journalposts) == len(archival)

    # Exactly one notice per assigned mail to its assignee (R11).
    notices = Counter(
        (p["case_id"], p["recipient"]["address"])
        for _, p in log.seen
        if p.get("type") == "notice_sent" and p["kind"] == "assigned"
    )
    for case in assigned:
        assert notices[(case, routed[case]["assignee"]["address"])] == 1, case
