"""Issue 16, findings 3 and 4, through ingest on the Graph emulator: what the sender writes does not
decide what Sakspost believes.

- A forward whose `X-Sakspost-Forwarded-By` has no valid seal is received as the sender's own mail
  and alerted (`forged_marker`); a forward Sakspost sealed is still opened to its original.
- Two different mails with one Message-ID in one mailbox are two cases, both routed, with an
  `identity_clash` alert; the same Graph message seen again (webhook and delta) stays one case.
- Finding 5: a delta link in KV pointing away from Graph is never requested; it is discarded with
  an alert, and a fresh delta query still catches up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.js import JetStreamContext

from devtools.graph_emulator import RunningEmulator
from services.classifier.app import build as build_classifier
from services.common.jetstream import EVENTS_STREAM, INGEST_BUCKET
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import forward_mime
from services.common.seal import SigningKeys, signing_keys
from services.common.settings import Settings
from services.ingest.state import DeltaRecord, delta_key, message_key
from services.ingest.work import MESSAGE_SUBJECT, WORK_STREAM, MessageWork
from services.router.app import build as build_router
from tests.graph_emulator.conftest import other_host, raw_mail, send_smtp
from tests.ingest.conftest import ingest_settings, running_ingest
from tests.personal.conftest import sample
from tests.router_service.conftest import QUIET
from tests.support.events import event_log

POST = "post@ha.kommune.no"
STAFF = "elin.tjessem@ha.kommune.no"


def governor_original() -> bytes:
    """What the attacker wants filed as if the county governor had sent it."""
    return (
        "From: Statsforvaltaren i Rogaland <sfropost@statsforvalteren.no>\r\n"
        f"To: {POST}\r\nSubject: Palegg om retting\r\nDate: Mon, 07 Sep 2026 09:00:00 +0200\r\n"
        "Message-ID: <chosen-by-the-sender@sf.no>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nBetal no.\r\n"
    ).encode()


async def test_a_forged_forward_is_the_senders_own_mail_and_a_sealed_one_is_opened(
    settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:
    now = datetime.now(UTC)
    attacker = SigningKeys(b"not-sakspost-s-key-but-long-enough-0123")
    forged = forward_mime(
        governor_original(), "Elin Tjessem", STAFF, POST, "VS", "x", now, attacker
    )
    original = sample("0020.eml", to=STAFF)
    sealed = forward_mime(
        original, "Elin Tjessem", STAFF, POST, "VS", "x", now, signing_keys(settings)
    )
    async with (
        event_log(settings, "sakspost.>") as log,
        running_ingest(settings, org, emulator),
    ):
        await send_smtp(emulator.smtp_port, STAFF, [POST], forged)
        (_, received), *_ = await log.wait_for(lambda _s, p: p["type"] == "received", 1, 30)
        ((_, alert),) = await log.wait_for(lambda _s, p: p.get("kind") == "forged_marker")
        await send_smtp(emulator.smtp_port, STAFF, [POST], sealed)
        received_events = await log.wait_for(lambda _s, p: p["type"] == "received", 2, 30)
    # The finding's forgery: received with its real sender, not the "original" it carried.
    assert received["sender"]["address"] == STAFF
    assert received["internet_message_id"] != "chosen-by-the-sender@sf.no"
    assert alert["case_id"] == received["case_id"] and alert["department"] == "post"
    assert STAFF not in str(alert) and "Statsforvaltaren" not in str(alert)
    opened = received_events[1][1]
    citizen = parse_mail(original)
    assert citizen.sender is not None
    assert opened["sender"]["address"] == citizen.sender.address
    assert opened["internet_message_id"] == citizen.message_id
    assert len(log.matching(lambda _s, p: p.get("kind") == "forged_marker")) == 1


async def test_two_mails_with_one_message_id_are_two_cases_and_one_mail_seen_twice_is_one(
    js: JetStreamContext,
    connect_as: Callable[[str], Awaitable[Client]],
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
) -> None:  # R13
    first = raw_mail("Sendt forst med lana Message-ID", to=POST, message_id="<taken@x.org>")
    real = raw_mail("Den ekte soknaden", to=POST, message_id="<taken@x.org>")
    services = ingest_settings(settings, emulator)
    async with (
        event_log(settings, "sakspost.>") as log,
        running_ingest(settings, org, emulator),
        build_classifier(services, org).running(),
        build_router(services, org, router_settings=QUIET).running(),
    ):
        await send_smtp(emulator.smtp_port, "kari@example.org", [POST], first)
        await log.wait_for(lambda _s, p: p["type"] == "received", 1, 30)
        await send_smtp(emulator.smtp_port, "kari@example.org", [POST], real)
        received = [p for _, p in await log.wait_for(lambda _s, p: p["type"] == "received", 2)]
        ((_, clash),) = await log.wait_for(lambda _s, p: p.get("kind") == "identity_clash")
        cases = [p["case_id"] for p in received]
        assert len(set(cases)) == 2
        routed = await log.wait_for(lambda _s, p: p["type"] == "routed", 2, 30)
        assert {p["case_id"] for _, p in routed} == set(cases)
        assert clash["case_ids"] == cases and clash["department"] == "post"
        assert "x.org" not in str(clash) and "kari" not in str(clash)

        # The real mail's Graph message found again by delta, as if before the webhook's work
        # had recorded it: the same case, no new one, no new alert.
        graph_id = received[1]["graph_message_id"]
        # With ingest's rights: its bucket has one writer.
        as_ingest = (await connect_as("ingest")).jetstream()
        kv = await as_ingest.key_value(INGEST_BUCKET)
        await kv.delete(message_key(graph_id))
        watcher = await kv.watch(message_key(graph_id), include_history=False)
        work = MessageWork(
            department="post",
            mailbox=POST,
            message_id=graph_id,
            presence="present",
            source="delta",
        )
        await as_ingest.publish(
            MESSAGE_SUBJECT.format(department="post"),
            work.model_dump_json().encode(),
            stream=WORK_STREAM,
        )
        async for entry in watcher:
            if entry is not None and entry.value:
                break
        await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped
    info = await js.stream_info(EVENTS_STREAM, subjects_filter="sakspost.mail.received.post")
    assert info.state.subjects == {"sakspost.mail.received.post": 2}
    clashes = await js.stream_info(EVENTS_STREAM, subjects_filter="sakspost.alert.identity_clash.*")
    assert sum((clashes.state.subjects or {}).values()) == 1


async def test_a_foreign_delta_link_in_kv_is_never_requested_and_catch_up_completes(
    js: JetStreamContext,
    connect_as: Callable[[str], Awaitable[Client]],
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
) -> None:
    # Delivered while nobody listens: only ingest's delta query can find it.
    missed = raw_mail("Berre delta finn denne", to=POST)
    await send_smtp(emulator.smtp_port, "kari@example.org", [POST], missed)
    kv = await (await connect_as("ingest")).jetstream().key_value(INGEST_BUCKET)
    async with other_host() as (elsewhere, seen):
        stolen = f"{elsewhere}/v1.0/users/{POST}/mailFolders/inbox/messages/delta?$deltatoken=x"
        record = DeltaRecord(link=stolen, at=datetime.now(UTC))
        await kv.put(delta_key("post", "inbox"), record.model_dump_json().encode())
        async with (
            event_log(settings, "sakspost.>") as log,
            running_ingest(settings, org, emulator),
        ):
            ((_, received),) = await log.wait_for(lambda _s, p: p["type"] == "received", 1, 30)
            ((_, alert),) = await log.wait_for(lambda _s, p: p.get("kind") == "graph_link_refused")
        assert seen == []
    assert received["internet_message_id"] == "Berre-delta-finn-denne@example.org"
    assert alert["department"] == "post" and elsewhere not in str(alert)
    saved = (await kv.get(delta_key("post", "inbox"))).value
    assert saved is not None and DeltaRecord.model_validate_json(saved).link != stolen
