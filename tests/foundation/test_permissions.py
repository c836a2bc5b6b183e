"""Least privilege, proven on a real nats-server: for each identity, every action in the table is
refused unless the declaration (`services/common/permissions.py`) grants it, and works where it
does. A refusal is the server's: a permissions violation, or a stream that refuses the operation.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import api

from schemas.commands import Verb
from schemas.subjects import command_subject
from services.common.connect import NatsUnavailable, connect_login
from services.common.credentials import NatsLogin
from services.common.jetstream import (
    CASES_BUCKET,
    EVENTS_STREAM,
    INGEST_BUCKET,
    MIME_BUCKET,
)
from services.common.mimestore import MimeStore
from services.common.natsserver import NatsServer
from services.common.permissions import IDENTITIES, OVERVIEW_BUCKET
from services.common.starts import STARTS_BUCKET
from tests.support.violations import connect_watched

Action = Callable[[Client, "Target"], Coroutine[Any, Any, object]]
MIME = b"From: a@example.invalid\r\nSubject: R13\r\n\r\nnever deleted\r\n"
SECRET_KEY = "subscription.post"
OPT_IN_KEY = "personal.optin.kari"


@dataclass(frozen=True)
class Target:
    """What the actions act on: the MIME object ingest stored before the table runs."""

    digest: str

    @property
    def meta_token(self) -> str:
        return base64.urlsafe_b64encode(self.digest.encode()).decode()


# --- the actions ------------------------------------------------------------------------------


async def delete_events_stream(nc: Client, target: Target) -> object:
    return await nc.jetstream().delete_stream(EVENTS_STREAM)


async def purge_events_stream(nc: Client, target: Target) -> object:
    return await nc.jetstream().purge_stream(EVENTS_STREAM)


async def delete_an_event(nc: Client, target: Target) -> object:
    return await nc.jetstream().delete_msg(EVENTS_STREAM, 1)


async def reconfigure_events_stream(nc: Client, target: Target) -> object:
    js = nc.jetstream()
    config = (await js.stream_info(EVENTS_STREAM)).config
    config.description = "changed by a probe"
    return await js.update_stream(config=config)


async def write_a_case_record(nc: Client, target: Target) -> object:
    return await (await nc.jetstream().key_value(CASES_BUCKET)).put("probe", b"{}")


async def record_a_routers_start(nc: Client, target: Target) -> object:
    # Only the router may say that the router started (the notifier counts these, issue 17).
    return await (await nc.jetstream().key_value(STARTS_BUCKET)).put("router.probe.1", b"")


async def read_ingests_secrets(nc: Client, target: Target) -> object:
    return await (await nc.jetstream().key_value(INGEST_BUCKET)).get(SECRET_KEY)


async def opt_a_mailbox_in(nc: Client, target: Target) -> object:
    kv = await nc.jetstream().key_value(INGEST_BUCKET)
    return await kv.put(OPT_IN_KEY, b'{"opted_in": true}')


async def read_an_opt_in(nc: Client, target: Target) -> object:
    # `sakspost personal list` reads the decisions; only ingest records them (by command).
    return await (await nc.jetstream().key_value(INGEST_BUCKET)).get(OPT_IN_KEY)


async def forge_archived(nc: Client, target: Target) -> object:
    return await nc.jetstream().publish("sakspost.mail.archived.post", b"{}", stream=EVENTS_STREAM)


async def forge_received(nc: Client, target: Target) -> object:
    return await nc.jetstream().publish("sakspost.mail.received.post", b"{}", stream=EVENTS_STREAM)


async def pull_the_routers_consumer(nc: Client, target: Target) -> object:
    subscription = await nc.jetstream().pull_subscribe_bind(
        "router", EVENTS_STREAM, inbox_prefix=f"{nc._inbox_prefix.decode()}.".encode()
    )
    return await subscription.fetch(1, timeout=30)


async def replace_the_routers_consumer(nc: Client, target: Target) -> object:
    config = api.ConsumerConfig(
        durable_name="router", filter_subject="sakspost.mail.archived.*", ack_wait=5
    )
    return await nc.jetstream().add_consumer(EVENTS_STREAM, config=config)


async def send_a_command(nc: Client, target: Target) -> object:
    # The router is not running: "no responders" proves that the request went out.
    try:
        return await nc.request(command_subject("show"), b"{}", timeout=30)
    except Exception as error:
        if type(error).__name__ == "NoRespondersError":
            return "sent"
        raise


async def _answer(nc: Client, verb: Verb) -> object:
    subscription = await nc.subscribe(verb.subject, queue=verb.answerer)
    await nc.flush()
    return subscription


async def answer_a_case_command(nc: Client, target: Target) -> object:
    return await _answer(nc, Verb.ASSIGN)


async def answer_an_archive_command(nc: Client, target: Target) -> object:
    return await _answer(nc, Verb.RETRY_ARCHIVE)


async def answer_a_personal_decision(nc: Client, target: Target) -> object:
    return await _answer(nc, Verb.PERSONAL_DECIDE)


async def _follow(nc: Client, name: str, subjects: str) -> object:
    """A short-lived consumer pushing to the identity's own inbox, as the overview follows."""
    config = api.ConsumerConfig(
        name=name,
        filter_subject=subjects,
        deliver_subject=nc.new_inbox(),
        ack_policy=api.AckPolicy.NONE,
        inactive_threshold=30,
    )
    return await nc.jetstream().add_consumer(EVENTS_STREAM, config=config)


async def follow_the_alerts(nc: Client, target: Target) -> object:
    return await _follow(nc, "probe-alerts", "sakspost.alert.>")


async def follow_the_mail_events(nc: Client, target: Target) -> object:
    return await _follow(nc, "probe-mail", "sakspost.mail.>")


async def watch_the_cases(nc: Client, target: Target) -> object:
    watcher = await (await nc.jetstream().key_value(CASES_BUCKET)).watchall()
    await watcher.stop()  # type: ignore[no-untyped-call]
    return watcher


async def keep_an_overview_session(nc: Client, target: Target) -> object:
    return await (await nc.jetstream().key_value(OVERVIEW_BUCKET)).put("session.probe", b"{}")


async def record_a_case_view(nc: Client, target: Target) -> object:
    subject = "sakspost.audit.case_viewed.post"
    return await nc.jetstream().publish(subject, b"{}", stream=EVENTS_STREAM)


async def delete_a_mime_object(nc: Client, target: Target) -> object:
    return await (await nc.jetstream().object_store(MIME_BUCKET)).delete(target.digest)


async def mark_a_mime_object_deleted(nc: Client, target: Target) -> object:
    js = nc.jetstream()
    subject = f"$O.{MIME_BUCKET}.M.{target.meta_token}"
    forged = {"name": target.digest, "bucket": MIME_BUCKET, "nuid": "x", "deleted": True}
    return await js.publish(subject, json.dumps(forged).encode())


async def read_a_mime_object(nc: Client, target: Target) -> object:
    return await MimeStore(nc.jetstream()).get(target.digest)


async def snoop_on_every_reply(nc: Client, target: Target) -> object:
    subscription = await nc.subscribe("_INBOX.>")
    await nc.flush()
    return subscription


async def watch_events_through_an_integrator_consumer(nc: Client, target: Target) -> object:
    config = api.ConsumerConfig(
        durable_name="integrator-probe",
        filter_subject="sakspost.mail.>",
        ack_policy=api.AckPolicy.EXPLICIT,
    )
    return await nc.jetstream().add_consumer(EVENTS_STREAM, config=config)


# Which identities each action is granted to; every other identity must be refused.
TABLE: dict[Action, frozenset[str]] = {
    delete_events_stream: frozenset(),
    purge_events_stream: frozenset(),
    delete_an_event: frozenset(),
    reconfigure_events_stream: frozenset({"admin"}),
    write_a_case_record: frozenset({"router"}),
    record_a_routers_start: frozenset({"router"}),
    read_ingests_secrets: frozenset({"ingest", "admin"}),
    opt_a_mailbox_in: frozenset({"ingest"}),
    read_an_opt_in: frozenset({"ingest", "operator", "overview", "admin"}),
    forge_archived: frozenset({"websak"}),
    forge_received: frozenset({"ingest"}),
    pull_the_routers_consumer: frozenset({"router", "admin"}),
    replace_the_routers_consumer: frozenset({"admin"}),
    send_a_command: frozenset({"operator", "overview"}),
    answer_a_case_command: frozenset({"router", "admin"}),
    answer_an_archive_command: frozenset({"websak", "admin"}),
    answer_a_personal_decision: frozenset({"ingest", "admin"}),
    follow_the_alerts: frozenset({"overview", "integrator", "admin"}),
    follow_the_mail_events: frozenset({"integrator", "admin"}),
    watch_the_cases: frozenset({"router", "operator", "overview", "admin"}),
    keep_an_overview_session: frozenset({"overview"}),
    record_a_case_view: frozenset({"overview"}),
    delete_a_mime_object: frozenset(),
    # Ingest writes the store, so the server takes its second metadata message; the store never
    # reads it (`mimestore.py`), which the test checks below.
    mark_a_mime_object_deleted: frozenset({"ingest"}),
    read_a_mime_object: frozenset({"ingest", "classifier", "websak", "admin"}),
    snoop_on_every_reply: frozenset({"admin"}),
    watch_events_through_an_integrator_consumer: frozenset({"integrator", "admin"}),
}


async def _prepare(server: NatsServer) -> Target:
    """An event, a MIME object, a webhook secret and an opt-in, as ingest leaves them."""
    ingest = await connect_login(server.login("ingest"), "probe-setup")
    try:
        js = ingest.jetstream()
        await js.publish("sakspost.mail.received.post", b"{}", stream=EVENTS_STREAM)
        ingests = await js.key_value(INGEST_BUCKET)
        await ingests.put(SECRET_KEY, b'{"client_state": "secret"}')
        await ingests.put(OPT_IN_KEY, b'{"opted_in": false}')
        return Target(await MimeStore(js).put(MIME))
    finally:
        await ingest.close()


@pytest.mark.parametrize("identity", [i.name for i in IDENTITIES])
async def test_each_identity_may_do_exactly_what_it_is_granted(
    nats_server: NatsServer, identity: str
) -> None:
    target = await _prepare(nats_server)
    connection, violations = await connect_watched(nats_server, identity)
    try:
        outcomes = {
            action.__name__: await violations.outcome(connection, action(connection, target))
            for action in TABLE
        }
    finally:
        await connection.close()
    wrong = {
        name: outcome
        for (action, granted), (name, outcome) in zip(TABLE.items(), outcomes.items(), strict=True)
        if (identity in granted) != (outcome == "allowed")
    }
    assert wrong == {}, f"{identity}: {wrong}"
    # Whatever anyone tried, the MIME object is intact (R13).
    reader = await connect_login(nats_server.login("websak"), "probe-reader")
    try:
        assert await MimeStore(reader.jetstream()).get(target.digest) == MIME
    finally:
        await reader.close()


async def test_an_anonymous_connection_is_refused(
    bare_nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAKSPOST_LANGUAGE", "en")
    with pytest.raises(NatsUnavailable, match="refused the login of anonymous"):
        await connect_login(NatsLogin("anonymous", tuple(bare_nats_server.urls), None), "anon")
