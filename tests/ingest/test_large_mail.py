"""Issue 16, finding 2: a 28 MB mail took ingest to 352 MB. Exchange Online takes messages of up
to 150 MB, and ingest must keep every one (R13) in bounded memory: its MIME is streamed from Graph
into a spool file and from there into the Object Store, and only the header block of a mail over
the parse cap is read. A mail over the download cap still becomes a case, marked as such."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Awaitable, Callable

import httpx
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from devtools.bench.mimepeak import MB, MIB, mail_of_size, measure_in_process
from devtools.graph_emulator import RunningEmulator
from services.common.errors import TransientError
from services.common.graph import make_graph_client
from services.common.mail import header_block
from services.common.mimelimits import TOO_LARGE_DEFECT, TRUNCATED_DEFECT
from services.common.mimestore import MimeStore
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.ingest.gateway import GraphGateway, MailboxGate, MessageGone
from tests.graph_emulator.conftest import wait_until
from tests.ingest.conftest import QUICK, running_ingest, work_drained
from tests.support.environment import nats_environment
from tests.support.events import event_log

POST = "post@ha.kommune.no"


async def deliver(emulator: RunningEmulator, raw: bytes, folder: str = "inbox") -> str:
    """Put `raw` in a folder of post@'s mailbox as Graph would; its message id."""
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as admin:
        response = await admin.post(
            f"/_emulator/mailboxes/{POST}/deliver", params={"folder": folder}, content=raw
        )
    response.raise_for_status()
    message_id: str = response.json()["id"]
    return message_id


def test_the_header_block_ends_at_the_first_blank_line() -> None:
    assert header_block(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore") == b"A: 1\r\nB: 2\r\n\r\n"
    assert header_block(b"A: 1\nB: 2\n\nbody") == b"A: 1\nB: 2\n\n"
    assert header_block(b"A: 1\r\nB: 2 and no end") == b"A: 1\r\nB: 2 and no end"


async def test_a_28_mb_mail_is_kept_whole_in_bounded_memory(
    settings: Settings,
    emulator: RunningEmulator,
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:  # finding 2, R13
    raw = mail_of_size(28 * MB, "28mb", POST)
    assert 27.9 * MB < len(raw) < 28.1 * MB
    message_id = await deliver(emulator, raw)
    environment = nats_environment(
        settings,
        SAKSPOST_GRAPH_BASE_URL=emulator.graph_url,
        SAKSPOST_ORG_CONFIG=str(settings.org_config),
        SAKSPOST_LOG_LEVEL="warning",
    )
    figures = await measure_in_process(environment, POST, message_id)

    digest = hashlib.sha256(raw).hexdigest()
    assert figures["sha256"] == digest
    assert figures["size"] == figures["stored_size"] == len(raw)
    assert TOO_LARGE_DEFECT in figures["defects"]
    store = MimeStore((await connect_as("websak")).jetstream())
    assert await store.get(digest) == raw
    # A memory bound, not a timing. Reading the mail whole, ingest grew by 280 MiB here.
    growth = (figures["peak_kib"] - figures["rss_before_kib"]) * 1024
    assert growth < len(raw) / 3, f"ingest grew by {growth / MIB:.1f} MiB"


async def test_a_mail_over_the_caps_still_becomes_a_case(
    js: JetStreamContext, settings: Settings, org: Organisation, emulator: RunningEmulator
) -> None:  # finding 2: a 150+ MB mail, on small caps
    over_parse_cap = mail_of_size(3 * MIB // 2, "over-parse-cap", POST)
    over_download_cap = mail_of_size(3 * MIB, "over-download-cap", POST)
    sent_over_parse_cap = mail_of_size(3 * MIB // 2, "sent-over-parse-cap", "kari@example.org")
    caps = QUICK.model_copy(update={"mime_download_cap_bytes": 2 * MIB})
    async with (
        event_log(settings, "sakspost.mail.>") as events,
        running_ingest(settings, org, emulator, caps, mime_parse_cap_bytes=MIB) as (_url, client),
    ):
        await deliver(emulator, over_parse_cap)
        await deliver(emulator, over_download_cap)
        await deliver(emulator, sent_over_parse_cap, "sentitems")  # Sent Items: the same path
        received = await events.wait_for(lambda _s, p: p["type"] == "received", 2, timeout=60)
        ((_subject, sent),) = await events.wait_for(lambda _s, p: p["type"] == "sent", 1, 60)
        await wait_until(lambda: work_drained(js), within=30)
        assert (await client.get("/healthz")).status_code == 200
    by_subject = {p["subject"]: p for _s, p in received}
    store = MimeStore(js)

    whole = by_subject["Teikningar over-parse-cap"]
    assert whole["mime_sha256"] == hashlib.sha256(over_parse_cap).hexdigest()
    assert whole["mime_size"] == len(over_parse_cap)
    assert whole["parse_defects"] == [TOO_LARGE_DEFECT]
    assert await store.get(whole["mime_sha256"]) == over_parse_cap

    cut = by_subject["Teikningar over-download-cap"]
    kept = over_download_cap[: 2 * MIB]
    assert cut["mime_sha256"] == hashlib.sha256(kept).hexdigest()
    assert cut["mime_size"] == await store.size(cut["mime_sha256"]) == 2 * MIB
    assert set(cut["parse_defects"]) == {TOO_LARGE_DEFECT, TRUNCATED_DEFECT}
    assert cut["sender"]["address"] == "kari@example.org"

    assert sent["mime_sha256"] == hashlib.sha256(sent_over_parse_cap).hexdigest()
    assert sent["mime_size"] == len(sent_over_parse_cap)
    assert sent["internet_message_id"] == "large-sent-over-parse-cap@example.org"
    assert await store.get(sent["mime_sha256"]) == sent_over_parse_cap


async def test_the_streamed_download_keeps_the_gateways_throttling_and_gone_handling(
    emulator: RunningEmulator,
) -> None:  # finding 2: the same 429/5xx and 404 handling as every other Graph call
    message_id = await deliver(emulator, mail_of_size(1000, "throttled", POST))
    gate = MailboxGate(4)
    gateway = GraphGateway(make_graph_client(emulator.graph_url, retries=False), gate)
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as admin:
        faults = {"throttle": 1.0, "retryAfter": 7}
        (await admin.put(f"/_emulator/mailboxes/{POST}/faults", json=faults)).raise_for_status()
        with pytest.raises(TransientError) as throttled:
            await gateway.download_mime(POST, message_id, io.BytesIO(), MIB)
        (await admin.delete(f"/_emulator/mailboxes/{POST}/faults")).raise_for_status()
    assert throttled.value.retry_after == 7
    assert gate.throttled_for(POST) > 0  # this mailbox waits; the others go on
    unthrottled = GraphGateway(make_graph_client(emulator.graph_url, retries=False), MailboxGate(4))
    with pytest.raises(MessageGone):
        await unthrottled.download_mime(POST, "no-such-message", io.BytesIO(), MIB)
