"""Outgoing checks on a shared mailbox's Sent Items through the running stack (`sakspost up`).

- R14: a reply in an archival conversation sent from Sakspost (not WebSak) raises
  `reply_not_from_websak` to the department's supervisors, and `archive_reply` files it as an
  outgoing journalpost (template of type U) in the conversation's archive case; a sensitive reply
  goes to the department's screened case instead (R3).
- R2, R3: a sent mail holding an identity number raises `sensitive_outgoing`, naming the kind but
  neither the number, the subject nor the recipient.
- Sakspost's own notices (`X-Sakspost-Notice`, sealed) are never judged: they do not even become
  `sent`. The same header without Sakspost's seal is judged like any sent mail, and alerted as
  `forged_marker`.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext

from services.common.actors import Actor
from services.common.jetstream import RECEIPTS_BUCKET
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import NOTICE_HEADER, mark_notice
from services.common.rights import supervises
from services.common.seal import SigningKeys, signing_keys
from services.common.settings import REPO_ROOT
from services.ingest.state import sent_key
from services.websak.config import ReceptionCases, load_placement
from tests.conftest import SAMPLES
from tests.personal.test_misdirected import STACK_ENV, deliver, identity_number, wait_for_key
from tests.support.environment import nats_environment
from tests.support.events import event_log
from tests.support.stack import RunningStack, running_stack
from tests.support.tokens import token_for
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


def notice_mime(mailbox: str, secret: str, name: str, keys: SigningKeys | None) -> bytes:
    """A notice sent from the shared mailbox: sealed with `keys`, or (None) only claiming to be."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = mailbox
    mail["To"] = "sakshandsamar@ha.kommune.no"
    mail["Subject"] = "Varsel"
    mail["Date"] = "Tue, 08 Sep 2026 08:59:00 +0200"
    mail["Message-ID"] = f"<{name}@ha.kommune.no>"
    if keys is None:
        mail[NOTICE_HEADER] = name
    else:
        mark_notice(mail, name, keys, datetime.now(UTC))
    mail.set_content(f"Ny sak. {secret}\n", charset="utf-8")
    return mail.as_bytes()


async def recorded(js: JetStreamContext, key: str) -> None:
    """Until websak has written `key` in its receipts bucket (a KV watch)."""
    watcher = await (await js.key_value(RECEIPTS_BUCKET)).watch(key)
    try:
        async for entry in watcher:
            if entry is not None and entry.value:
                return
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped


async def archive_reply(stack: RunningStack, case_id: str, token: str) -> tuple[int, str]:
    """`sakspost cases archive-reply CASE_ID`, signed in with `token`, against the stack: a
    command the running websak service answers."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sakspost",
        "cases",
        "archive-reply",
        case_id,
        cwd=REPO_ROOT,
        env=nats_environment(stack.settings(), SAKSPOST_LANGUAGE="en", SAKSPOST_TOKEN=token),
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
            content=notice_mime(mailbox, secret, "varsel-4417", signing_keys(stack.settings())),
        )
        forged = await graph.post(
            f"/_emulator/mailboxes/{mailbox}/deliver?folder=sentitems",
            content=notice_mime(mailbox, secret, "varsel-4418", None),
        )
        plain = await graph.post(
            f"/_emulator/mailboxes/{mailbox}/deliver?folder=sentitems",
            content=reply_mime(mailbox, original, "svar-a", "Takk, vi svarar innan tre veker."),
        )
        sensitive = await graph.post(
            f"/_emulator/mailboxes/{mailbox}/deliver?folder=sentitems",
            content=reply_mime(mailbox, original, "svar-b", f"Fødselsnummeret ditt: {secret}."),
        )
        assert {r.status_code for r in (notice, forged, plain, sensitive)} == {201}

        sent = [p for _, p in await log.wait_for(lambda _s, p: p["type"] == "sent", 3, 60)]
        by_graph_id = {p["graph_message_id"]: p["case_id"] for p in sent}
        plain_id, sensitive_id, forged_id = (
            by_graph_id[plain.json()["id"]],
            by_graph_id[sensitive.json()["id"]],
            by_graph_id[forged.json()["id"]],
        )
        replies = [p for p in sent if p["case_id"] != forged_id]
        assert {p["conversation_id"] for p in replies} == {received["conversation_id"]}
        alerts = await log.wait_for(lambda s, _p: s.startswith("sakspost.alert."), 5, 60)
        # The notice is Sakspost's own: handled (marked in KV) but never a `sent` event.
        await asyncio.wait_for(wait_for_key(js, sent_key(notice.json()["id"])), 30)
        for key in (f"outgoing.{plain_id}", f"outgoing-sensitive.{sensitive_id}"):
            await asyncio.wait_for(recorded(js, key), 30)
        await connection.close()

        # R14: filed by command as outgoing journalposts, by the department's supervisor; a
        # caseworker may not (issue 19).
        supervisor = org.staff_member(department.supervisors[0])
        boss = token_for(stack, supervisor.email)
        unknown, said = await archive_reply(stack, "no-such-case", boss)
        assert unknown == 1 and "Unknown case: no-such-case" in said, said
        worker = next(
            m
            for m in org.staff
            if org.may_be_assigned(label["department"], m.id)
            and not supervises(org, Actor(m.id, m.name, "person"), label["department"])
        )
        refused, said = await archive_reply(stack, plain_id, token_for(stack, worker.email))
        assert refused == 1 and f"{worker.id} may not do this" in said, said
        for sent_id in (plain_id, sensitive_id):
            code, said = await archive_reply(stack, sent_id, boss)
            assert code == 0, said
        state = await archive_state(stack.websak_url)

    assert len(log.matching(lambda _s, p: p["type"] == "sent")) == 3
    raised = sorted((p["kind"], p["case_id"]) for _, p in alerts)
    assert raised == sorted(
        [
            ("reply_not_from_websak", plain_id),  # R14
            ("reply_not_from_websak", sensitive_id),
            ("sensitive_outgoing", sensitive_id),  # R2, R3
            # The notice header without a seal exempts nothing: checked, and alerted.
            ("sensitive_outgoing", forged_id),
            ("forged_marker", forged_id),
        ]
    )
    assert {s.split(".")[-1] for s, _ in alerts} == {label["department"]}
    for _, payload in alerts:
        assert secret not in str(payload)
        assert citizen.address not in str(payload)
        assert SUBJECT_WORD not in str(payload)
        if payload["kind"] == "sensitive_outgoing":
            assert "fodselsnummer" in payload["summary"]
        elif payload["kind"] == "reply_not_from_websak":
            assert f"archive-reply {payload['case_id']}" in payload["summary"]

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
