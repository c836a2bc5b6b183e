"""Personal mailboxes through the running stack (`sakspost up`), Graph being the emulator.

- R9c: a misdirected application in an opted-in Inbox reaches the right Sakspost with the citizen
  as sender and is archived there; private mail is never forwarded; a mailbox that did not opt in
  is not read at all (no Graph call on its messages).
- Privacy: identity numbers and private text planted in personal mail (Inbox and Sent Items) appear
  nowhere in the stream, the KV buckets, the Object Store, the logs or a supervisor's alert; the
  owner alone is told about the sensitive mail they sent (R2, R3).
"""

from __future__ import annotations

import asyncio
import smtplib
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from schemas.commands import Verb
from services.common.idnumbers import identity_kind
from services.common.jetstream import INGEST_BUCKET, MIME_BUCKET
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import NOTICE_HEADER
from services.ingest.personal.state import delta_key
from tests.personal.conftest import sample
from tests.support.commands import ask
from tests.support.events import event_log
from tests.support.stack import RunningStack, running_stack
from tests.support.tokens import token_for

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration

OPTED_IN = "elin.tjessem"
NOT_OPTED_IN = "kristian.eik"
PRIVATE_TEXT = "Hemmeleg-privat-tekst-7731"
STACK_ENV = {"SAKSPOST_INGEST_UPKEEP_INTERVAL_SECONDS": "0.3"}


def identity_number() -> str:
    """A valid fødselsnummer (control digits computed), born 24 Dec 1985."""
    base = "241285497"
    first = (
        11 - sum(int(d) * w for d, w in zip(base, (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11
    )
    first = 0 if first == 11 else first
    with_first = base + str(first)
    second = (
        11
        - sum(int(d) * w for d, w in zip(with_first, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True))
        % 11
    )
    number = with_first + str(0 if second == 11 else second)
    assert identity_kind(number) is not None
    return number


def private_mail(to: str, secret: str) -> bytes:
    return (
        f"From: Solveig <solveig@heimenett.example>\r\nTo: {to}\r\nSubject: Bursdag\r\n"
        "Date: Mon, 07 Sep 2026 10:00:00 +0200\r\nMessage-ID: <bursdag-7731@heimenett.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hei jenta mi! Kom på middag sundag. {PRIVATE_TEXT}. Fnr til Olav: {secret}\r\n"
    ).encode()


def sent_mail(sender: str, secret: str) -> bytes:
    return (
        f"From: Elin <{sender}>\r\nTo: nabo@heimenett.example\r\nSubject: Skjema\r\n"
        "Date: Mon, 07 Sep 2026 11:00:00 +0200\r\nMessage-ID: <skjema-7731@ha.kommune.no>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Her er fødselsnummeret ditt til skjemaet: {secret}. {PRIVATE_TEXT}\r\n"
    ).encode()


async def wait_for_key(js: JetStreamContext, key: str) -> None:
    """Until ingest has written `key` (a KV watch)."""
    kv = await js.key_value(INGEST_BUCKET)
    watcher = await kv.watch(key)
    try:
        async for entry in watcher:
            if entry is not None and entry.value:
                return
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped


async def owner_notices(graph: httpx.AsyncClient, address: str, count: int) -> list[str]:
    """The bodies of Sakspost's notices in the owner's Inbox, once there are `count` of them."""
    while True:
        listed = await graph.get(f"/v1.0/users/{address}/mailFolders/inbox/messages?$top=100")
        found = []
        for message in listed.json()["value"]:
            mime = await graph.get(f"/v1.0/users/{address}/messages/{message['id']}/$value")
            mail = parse_mail(mime.content)
            if mail.header(NOTICE_HEADER):
                found.append(mail.text)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)  # the emulator has no event for "a mail arrived"


async def everything_stored(js: JetStreamContext) -> bytes:
    """Every byte Sakspost keeps: the streams' messages, every KV value, every stored object."""
    kept: list[bytes] = []
    for stream in await js.streams_info():
        name = stream.config.name
        assert name is not None
        if stream.state.messages == 0:
            continue
        for sequence in range(stream.state.first_seq, stream.state.last_seq + 1):
            try:
                kept.append((await js.get_msg(name, sequence)).data or b"")
            except NotFoundError:
                continue
    for bucket in ("sakspost_cases", "sakspost_receipts", INGEST_BUCKET, "sakspost_notices"):
        kv = await js.key_value(bucket)
        for key in await kv.keys():
            kept.append(key.encode() + ((await kv.get(key)).value or b""))
    store = await js.object_store(MIME_BUCKET)
    for info in await store.list():
        kept.append((await store.get(info.name)).data or b"")
    return b"\n".join(kept)


def deliver(stack: RunningStack, mails: list[tuple[str, bytes]]) -> None:
    with smtplib.SMTP("127.0.0.1", stack.port("SAKSPOST_SMTP_PORT"), timeout=30) as smtp:
        for to, raw in mails:
            smtp.sendmail("avsendar@test.invalid", [to], raw)


async def test_misdirected_mail_moves_to_sakspost_and_personal_mail_leaves_no_trace(
    tmp_path: Path, org: Organisation
) -> None:
    owner, other = org.staff_member(OPTED_IN), org.staff_member(NOT_OPTED_IN)
    secret = identity_number()
    application = sample("0020.eml", to=owner.email)
    citizen = parse_mail(application)
    async with (
        running_stack(tmp_path / "stack", STACK_ENV) as stack,
        event_log(stack.settings(), "sakspost.>") as log,
        httpx.AsyncClient(base_url=stack.graph_url, trust_env=False) as graph,
    ):
        # The owner opts in, signed in, as `sakspost personal opt-in` does it: ingest records it.
        cli = await stack.connect("operator")
        decided = await ask(cli, Verb.PERSONAL_DECIDE, token_for(stack, owner.email), opted_in=True)
        assert decided["ok"], decided
        await cli.close()
        # Admin, the only identity that may read all of it, inspects what Sakspost keeps.
        connection = await stack.connect("admin")
        js = connection.jetstream()
        await asyncio.wait_for(wait_for_key(js, delta_key(owner.id, "sentitems")), 60)

        deliver(
            stack,
            [
                (owner.email, application),
                (owner.email, private_mail(owner.email, secret)),
                (other.email, sample("0113.eml", to=other.email)),
            ],
        )
        sent = await graph.post(
            f"/_emulator/mailboxes/{owner.email}/deliver?folder=sentitems",
            content=sent_mail(owner.email, secret),
        )
        assert sent.status_code == 201

        # R9c: the application reaches Sakspost as the citizen's mail, and is archived there.
        received = await log.wait_for(lambda _s, p: p["type"] == "received", 1, 60)
        event = received[0][1]
        assert event["sender"]["address"] == citizen.sender.address  # type: ignore[union-attr]
        assert event["subject"] == citizen.subject
        assert event["internet_message_id"] == citizen.message_id
        classified = await log.wait_for(lambda _s, p: p["type"] == "classified", 1, 60)
        assert event["department"] == classified[0][1]["department"]
        await log.wait_for(
            lambda _s, p: p["type"] == "archived" and p["case_id"] == event["case_id"], 1, 120
        )
        # The owner alone is told: of the forward (R9c) and of the sensitive mail sent (R2, R3).
        notices = await asyncio.wait_for(owner_notices(graph, owner.email, 2), 60)
        assert any(event["mailbox"] in text for text in notices)
        assert any("fodselsnummer" in text for text in notices)
        assert all(secret not in text for text in notices)

        requests = (await graph.get("/_emulator/requests")).json()
        stored = await everything_stored(js)
        await connection.close()
    logs = b"\n".join(p.read_bytes() for p in (tmp_path / "stack" / "logs").glob("*"))
    assert b"personal folder judged" in logs  # the logs did see the personal mail being judged

    # Private mail is never forwarded: one mail reached Sakspost, the application.
    assert len(log.matching(lambda _s, p: p["type"] == "received")) == 1
    # The mailbox that did not opt in is not read at all: no Graph call on it.
    assert owner.email in requests["byMailbox"]
    assert other.email not in requests["byMailbox"]
    # Nothing planted in personal mail is kept or logged, nor in any alert.
    for planted in (secret.encode(), PRIVATE_TEXT.encode()):
        assert planted not in stored
        assert planted not in logs
    alerts = log.matching(lambda subject, _p: subject.startswith("sakspost.alert."))
    assert all(secret not in str(p) and PRIVATE_TEXT not in str(p) for _, p in alerts)
    assert not any(p.get("kind") == "sensitive_outgoing" for _, p in alerts)
