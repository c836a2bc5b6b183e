"""Outgoing checks on a shared mailbox's Sent Items through the running stack (`sakspost up`).

- R14: a reply in an archival conversation sent from Sakspost (not WebSak) raises
  `reply_not_from_websak` to the department's supervisors, and `archive-outgoing` files it as an
  outgoing journalpost (template of type U) in the conversation's archive case; a sensitive reply
  goes to the department's screened case instead (R3).
- R2, R3: a sent mail holding an identity number raises `sensitive_outgoing`, naming the kind but
  neither the number, the subject nor the recipient.
- Sakspost's own notices (`X-Sakspost-Notice`) are never judged: they do not even become `sent`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext

from services.common.jetstream import RECEIPTS_BUCKET
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import NOTICE_HEADER
from services.common.settings import REPO_ROOT
from services.ingest.state import sent_key
from services.websak.config import ReceptionCases, load_placement
from tests.conftest import SAMPLES
from tests.personal.test_misdirected import STACK_ENV, deliver, identity_number, wait_for_key
from tests.support.events import event_log
from tests.support.stack import RunningStack, running_stack
from tests.websak_service.support import archive_state, labels

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration


def department_cases(department: str) -> ReceptionCases:
    return load_placement().departments[department]


SUBJECT_WORD = "Svarbrev-4417"


def reply_mime(mailbox: str, original: bytes, name: str, text: str) -> bytes:
    """A caseworker's reply from the shared mailbox to the citizen."""
    mail = parse_mail(original)
    assert mail.sender is not None and mail.message_id is not None
    return (
        f"From: {mailbox}\r\nTo: {mail.sender.address}\r\nSubject: SV: {SUBJECT_WORD}\r\n"
        f"Date: Tue, 08 Sep 2026 09:00:00 +0200\r\nMessage-ID: <{name}@ha.kommune.no>\r\n"
        f"In-Reply-To: <{mail.message_id}>\r\nReferences: <{mail.message_id}>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{text}\r\n"
    ).encode()


def notice_mime(mailbox: str, secret: str) -> bytes:
    return (
        f"From: {mailbox}\r\nTo: sakshandsamar@ha.kommune.no\r\nSubject: Varsel\r\n"
        "Date: Tue, 08 Sep 2026 08:59:00 +0200\r\nMessage-ID: <varsel-4417@ha.kommune.no>\r\n"
        f"{NOTICE_HEADER}: 4417\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Ny sak. {secret}\r\n"
    ).encode()


async def recorded(js: JetStreamContext, key: str) -> None:
    """Until websak has written `key` in its receipts bucket (a KV watch)."""
    watcher = await (await js.key_value(RECEIPTS_BUCKET)).watch(key)
    try:
        async for entry in watcher:
            if entry is not None and entry.value:
                return
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped


async def archive_outgoing(stack: RunningStack, case_id: str, by: str) -> tuple[int, str]:
    """`python -m services.websak archive-outgoing CASE_ID --by ID` against the stack."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.websak",
        "archive-outgoing",
        case_id,
        "--by",
        by,
        cwd=REPO_ROOT,
        env=stack.env
        | {
            "SAKSPOST_NATS_URL": stack.nats_url,
            "SAKSPOST_WEBSAK_BASE_URL": stack.websak_url,
            "SAKSPOST_WEBSAK_TOKEN": "dev-token",
            "SAKSPOST_LOG_LEVEL": "warning",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_reply_from_sakspost_is_alerted_and_archived_as_outgoing(
    tmp_path: Path, org: Organisation
) -> None:
    label = next(x for x in labels("arkivverdig") if not x["sensitive"])
    department = org.departments[label["department"]]
    mailbox = department.addresses[0]
    original = (SAMPLES / label["file"]).read_bytes()
    citizen = parse_mail(original).sender
    assert citizen is not None
    secret = identity_number()
    async with (
        running_stack(tmp_path / "stack", STACK_ENV) as stack,
        event_log(stack.settings(), "sakspost.>") as log,
        httpx.AsyncClient(base_url=stack.graph_url, trust_env=False) as graph,
    ):
        # Admin reads what ingest and websak record.
        connection = await stack.connect("admin")
        js = connection.jetstream()
        deliver(stack, [(mailbox, original)])
        (_, received), *_ = await log.wait_for(lambda _s, p: p["type"] == "received", 1, 60)
        case_id = received["case_id"]
        await log.wait_for(lambda _s, p: p["type"] == "archived" and p["case_id"] == case_id)

        notice = await graph.post(
            f"/_emulator/mailboxes/{mailbox}/deliver?folder=sentitems",
            content=notice_mime(mailbox, secret),
        )
        plain = await graph.post(
            f"/_emulator/mailboxes/{mailbox}/deliver?folder=sentitems",
            content=reply_mime(mailbox, original, "svar-a", "Takk, vi svarar innan tre veker."),
        )
        sensitive = await graph.post(
            f"/_emulator/mailboxes/{mailbox}/deliver?folder=sentitems",
            content=reply_mime(mailbox, original, "svar-b", f"Fødselsnummeret ditt: {secret}."),
        )
        assert notice.status_code == plain.status_code == sensitive.status_code == 201

        sent = [p for _, p in await log.wait_for(lambda _s, p: p["type"] == "sent", 2, 60)]
        assert {p["conversation_id"] for p in sent} == {received["conversation_id"]}
        by_graph_id = {p["graph_message_id"]: p["case_id"] for p in sent}
        plain_id, sensitive_id = (
            by_graph_id[plain.json()["id"]],
            by_graph_id[sensitive.json()["id"]],
        )
        alerts = await log.wait_for(lambda s, _p: s.startswith("sakspost.alert."), 3, 60)
        # The notice is Sakspost's own: handled (marked in KV) but never a `sent` event.
        await asyncio.wait_for(wait_for_key(js, sent_key(notice.json()["id"])), 30)
        for key in (f"outgoing.{plain_id}", f"outgoing-sensitive.{sensitive_id}"):
            await asyncio.wait_for(recorded(js, key), 30)
        await connection.close()

        # R14: filed by command as outgoing journalposts.
        unknown, said = await archive_outgoing(stack, "no-such-case", "elin.tjessem")
        assert unknown == 1 and "not heard" in said
        for sent_id in (plain_id, sensitive_id):
            code, said = await archive_outgoing(stack, sent_id, "elin.tjessem")
            assert code == 0, said
        state = await archive_state(stack.websak_url)

    assert len(log.matching(lambda _s, p: p["type"] == "sent")) == 2
    raised = sorted((p["kind"], p["case_id"]) for _, p in alerts)
    assert raised == sorted(
        [
            ("reply_not_from_websak", plain_id),  # R14
            ("reply_not_from_websak", sensitive_id),
            ("sensitive_outgoing", sensitive_id),  # R2, R3
        ]
    )
    assert {s.split(".")[-1] for s, _ in alerts} == {label["department"]}
    for _, payload in alerts:
        assert secret not in str(payload)
        assert citizen.address not in str(payload)
        assert SUBJECT_WORD not in str(payload)
        if payload["kind"] == "sensitive_outgoing":
            assert "fodselsnummer" in payload["summary"]
        else:
            assert f"archive-outgoing {payload['case_id']}" in payload["summary"]

    archived = next(p for _, p in log.seen if p["type"] == "archived")
    posts = {str(jp["id"]): jp for jp in state["journalposter"].values()}
    incoming = posts[archived["journalpost_id"]]
    assert incoming["_journalposttype"] == "I"
    outgoing = {
        sent_id: next(jp for jp in posts.values() if sent_id in jp["tittel1"])
        for sent_id in (plain_id, sensitive_id)
    }
    assert {jp["_journalposttype"] for jp in outgoing.values()} == {"U"}
    # The reply joins the conversation's case; a sensitive one only a screened case (R3).
    assert outgoing[plain_id]["sakId"] == incoming["sakId"]
    assert outgoing[sensitive_id]["sakId"] == department_cases(label["department"]).screened_case
    for jp in outgoing.values():
        contacts = [k["epost"] for k in state["kontakter"].values() if k["_jp"] == jp["id"]]
        assert contacts == [citizen.address]
    # No `archived` event for a reply: that event sets a case Ferdig, and a sent mail is none.
    assert [p["case_id"] for _, p in log.seen if p["type"] == "archived"] == [case_id]
