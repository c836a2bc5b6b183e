"""`sakspost inject`, end to end on a real nats-server (issue 2's first end-to-end test)."""

from __future__ import annotations

import asyncio
import hashlib
import sys

import pytest
from nats.js import JetStreamContext

from services.common.jetstream import EVENTS_STREAM
from services.common.mail import parse_mail
from services.common.mimestore import MimeStore
from services.common.natsserver import NatsServer
from services.common.settings import REPO_ROOT
from tests.conftest import SAMPLES
from tests.support.environment import nats_environment
from tests.support.events import event_log
from tests.support.violations import connect_watched

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration


async def _sakspost(nats_server: NatsServer, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sakspost",
        *args,
        cwd=REPO_ROOT,
        # `inject` publishes what ingest publishes, so it logs in as ingest.
        env=nats_environment(nats_server.settings()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_inject_publishes_received_stores_mime_and_dedupes(
    nats_server: NatsServer, js: JetStreamContext
) -> None:
    sample = SAMPLES / "0004.eml"
    raw = sample.read_bytes()
    parsed = parse_mail(raw)

    async with event_log(nats_server.settings(), "sakspost.mail.received.>") as log:
        code, output = await _sakspost(
            nats_server, "inject", str(sample), "--to", "post@ha.kommune.no"
        )
        assert code == 0, output
        ((subject, event),) = await log.wait_for(lambda _s, p: p["type"] == "received")

    assert subject == "sakspost.mail.received.post"
    assert event["mailbox"] == "post@ha.kommune.no"
    assert event["department"] == "post"
    assert event["internet_message_id"] == parsed.message_id
    assert event["subject"] == parsed.subject
    assert event["mime_sha256"] == hashlib.sha256(raw).hexdigest()
    assert event["parse_defects"] == []
    assert parsed.sender is not None
    assert event["sender"]["address"] == parsed.sender.address
    # The MIME is in the Object Store under its SHA-256, byte for byte (R13).
    assert await MimeStore(js).get(event["mime_sha256"]) == raw

    # The same mail injected again is the same fact: JetStream drops the repeat.
    code, output = await _sakspost(nats_server, "inject", str(sample), "--to", "post@ha.kommune.no")
    assert code == 0, output
    assert "kjend frå før" in output
    assert (await js.stream_info(EVENTS_STREAM)).state.messages == 1

    # Mail in Sakspost cannot be deleted (R13): not even admin may ask.
    connection, violations = await connect_watched(nats_server, "admin")
    try:
        refused = await violations.refused(connection.jetstream().delete_msg(EVENTS_STREAM, 1))
    finally:
        await connection.close()
    assert f"$JS.API.STREAM.MSG.DELETE.{EVENTS_STREAM}".lower() in refused.lower()
    assert (await js.stream_info(EVENTS_STREAM)).state.messages == 1


async def test_inject_refuses_an_address_that_is_not_official(
    nats_server: NatsServer, js: JetStreamContext
) -> None:
    # Personal mail never enters the stream (docs/rules.md, privacy note; R9c).
    code, output = await _sakspost(
        nats_server, "inject", str(SAMPLES / "0007.eml"), "--to", "kristian.eik@ha.kommune.no"
    )
    assert code == 2
    assert "ikkje ei offisiell adresse" in output
    assert (await js.stream_info(EVENTS_STREAM)).state.messages == 0


async def test_a_malformed_mail_is_injected_with_its_defects(
    nats_server: NatsServer, js: JetStreamContext, tmp_path: object
) -> None:
    from pathlib import Path

    broken = Path(str(tmp_path)) / "broken.eml"
    broken.write_bytes(
        b"From: <<<\r\nSubject: =?x-unknown?q?hei?=\r\n"
        b"Content-Type: multipart/mixed\r\n\r\nno boundary"
    )
    async with event_log(nats_server.settings(), "sakspost.mail.received.>") as log:
        code, output = await _sakspost(
            nats_server, "inject", str(broken), "--to", "bygg@ha.kommune.no"
        )
        assert code == 0, output
        ((_, event),) = await log.wait_for(lambda _s, p: p["type"] == "received")
    assert event["parse_defects"], "a broken mail lists its defects instead of being dropped"
    assert event["internet_message_id"] is None
