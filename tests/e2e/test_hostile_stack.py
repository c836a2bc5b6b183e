"""Issue #16's acceptance through the running stack (`sakspost up`): a batch of hostile mail
followed by an ordinary mail.

The ordinary mail is routed before the hostile mails' outcomes (their work holds one worker each,
never a whole service), every hostile mail becomes a case (`received`, with its quarantine reason
where a limit applied, then `classified` and `routed`), each quarantined one raises a
`quarantined` alert, and no service restarts. The limits are set low through the environment so
that the test stays quick: a 3 s CPU allowance per mail, 100 parts, 1 MiB of attachments. The
hostile mails a cap stops are done at once; those that run to the CPU limit must not hold up the
ordinary mail behind them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools import hostile_mail as hostile
from tests.support.events import EventLog, event_log
from tests.support.stack import running_stack

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

LOW_LIMITS = {
    "SAKSPOST_WORKERS": "3",
    "SAKSPOST_WORKER_CPU_SECONDS": "3",
    "SAKSPOST_MAIL_MAX_PARTS": "100",
    "SAKSPOST_MAIL_MAX_ATTACHMENT_MIB": "1",
}
# (name, MIME, the quarantine reason expected in `received`, and in `classified`).
HOSTILE: list[tuple[str, bytes, str | None, str | None]] = [
    # About 5 s of identity-number checks each (under the text cap): over the classifier's CPU
    # limit, and still running when the ordinary mail arrives.
    ("identity_storm_1", hostile.identity_storm(3500), None, "too_complex"),
    ("identity_storm_2", hostile.identity_storm(3500), None, "too_complex"),
    ("many_parts", hostile.many_parts(300), "too_complex", "too_complex"),
    ("huge_attachment", hostile.huge_attachment(2), "too_large", "too_large"),
    ("deep_nesting", hostile.deep_nesting(200), "too_complex", "too_complex"),
    ("comment_storm", hostile.comment_storm(5000), None, None),
    ("tag_soup", hostile.tag_soup(100_000), None, None),
    ("subject_line_breaks", hostile.subject_line_breaks(20_000), None, None),
    ("encoded_word_storm", hostile.encoded_word_storm(5000), None, None),
    ("image_bomb", hostile.image_bomb(9000), None, None),
]
ORDINARY = (
    "From: Kari Nordmann <kari@epost.example>\r\nTo: bygg@ha.kommune.no\r\n"
    "Subject: Spørsmål om byggesak\r\nMessage-ID: <vanleg@epost.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Hei, når kjem svaret på søknaden om garasje?\r\n"
).encode()


def _position(log: EventLog, case_id: str, event_type: str) -> int:
    return next(
        index
        for index, (_, payload) in enumerate(log.seen)
        if payload.get("case_id") == case_id and payload.get("type") == event_type
    )


def _by_message_id(received: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {p["internet_message_id"] or p["case_id"]: p for _, p in received}


async def _deliver(graph_url: str, mails: list[tuple[bytes, str]]) -> None:
    """Straight into the emulator's mailboxes, as Exchange would store them: SMTP refuses lines
    over 1,000 characters, and hostile mail has longer ones."""
    async with httpx.AsyncClient(base_url=graph_url, timeout=60) as admin:
        for raw, mailbox in mails:
            answer = await admin.post(f"/_emulator/mailboxes/{mailbox}/deliver", content=raw)
            answer.raise_for_status()


async def test_hostile_mail_never_holds_up_ordinary_mail(tmp_path: Path) -> None:
    # Each its own Message-ID: the same one would be one case.
    mails = [
        (raw.replace(b"<hostile@", f"<hostile-{index}@".encode()), "post@ha.kommune.no")
        for index, (_, raw, _, _) in enumerate(HOSTILE)
    ]
    async with (
        running_stack(tmp_path / "stack", LOW_LIMITS) as stack,
        event_log(stack.settings(), "sakspost.>") as log,
    ):
        pids = {str(c["name"]): c["pid"] for c in stack.components()}
        await _deliver(stack.graph_url, [*mails, (ORDINARY, "bygg@ha.kommune.no")])
        everyone = len(HOSTILE) + 1
        await log.wait_for(lambda _s, p: p["type"] == "received", everyone, 120)
        cases = {p["case_id"] for _, p in log.matching(lambda _s, p: p["type"] == "received")}
        await log.wait_for_every_case("routed", cases, 180)
        received = log.matching(lambda _s, p: p["type"] == "received")
        ordinary_case = next(p["case_id"] for _, p in received if p["mailbox"].startswith("bygg"))
        hostile_cases = cases - {ordinary_case}
        quarantined_classified = {
            p["case_id"]: p
            for _, p in log.matching(
                lambda _s, p: p["type"] == "classified" and p["reasons"][0].startswith("quar")
            )
        }
        await log.wait_for(
            lambda s, _p: s.startswith("sakspost.alert.quarantined."),
            len(quarantined_classified),
            60,
        )
        # The stack is whole: the same processes, each of them ready and done.
        assert {str(c["name"]): c["pid"] for c in stack.components()} == pids
        async with httpx.AsyncClient(timeout=5) as client:
            for component in stack.components():
                url = str(component["ready_url"])
                assert (await client.get(url)).status_code == 200, component["name"]

    by_id = _by_message_id(received)
    # The ordinary mail went through while the hostile mails at the classifier's CPU limit were
    # still being read: their outcome came after its `routed`.
    routed_ordinary = _position(log, ordinary_case, "routed")
    slow = [by_id[f"hostile-{i}@epost.example"]["case_id"] for i in (0, 1)]
    assert [_position(log, case, "classified") > routed_ordinary for case in slow] == [True] * 2
    for index, (name, _, at_ingest, at_classifier) in enumerate(HOSTILE):
        event = by_id[f"hostile-{index}@epost.example"]
        assert event["quarantine"] == at_ingest, name
        classified = quarantined_classified.get(event["case_id"])
        reason = classified["reasons"][0].removeprefix("quarantine.") if classified else None
        assert reason == at_classifier, name
        if classified:
            assert classified["mail_class"] == "arkivverdig"
            assert "unntatt_offentlighet" in classified["sensitive"]
    alerted = {p["case_id"] for s, p in log.seen if s.startswith("sakspost.alert.quarantined.")}
    assert alerted == set(quarantined_classified)
    assert len(hostile_cases) == len(HOSTILE)
