"""Every .eml of the MIME edge corpus and of samples/, delivered over SMTP to post@, ends as a
`received` event (with its parse defects where the MIME is broken); nothing crashes (R13)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from nats.js import JetStreamContext

from devtools.graph_emulator import RunningEmulator
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from tests.conftest import SAMPLES
from tests.graph_emulator.conftest import wait_until
from tests.ingest.conftest import running_ingest, send_many, work_drained
from tests.support.events import event_log

POST = "post@ha.kommune.no"


def smtp_ready(raw: bytes) -> bytes:
    """SMTP carries CRLF lines; bare-LF files are sent as any mail client would send them."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def test_every_edge_case_and_sample_becomes_a_received_event(
    js: JetStreamContext,
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    mime_edge: Path,
) -> None:  # R13
    files = sorted(mime_edge.rglob("*.eml")) + sorted(SAMPLES.glob("*.eml"))
    mails = [(POST, smtp_ready(path.read_bytes())) for path in files]
    async with (
        event_log(settings, "sakspost.mail.received.>") as events,
        running_ingest(settings, org, emulator) as (_url, client),
    ):
        await send_many(emulator.smtp_port, mails)
        mailbox = emulator.emulator.store.mailbox(POST)
        assert mailbox is not None
        # One case per mail: corpus files that share a Message-ID are each their own case (the
        # later ones under a derived case id), so none disappears.
        expected = set(mailbox.messages)
        received = await events.wait_for(lambda _s, p: True, len(expected), timeout=60)
        await wait_until(lambda: work_drained(js), within=30)
        assert (await client.get("/healthz")).status_code == 200
    assert {p["graph_message_id"] for _s, p in received} == expected
    assert len(events.seen) == len({p["case_id"] for _s, p in received}) == len(expected)
    stored = {hashlib.sha256(m.mime).hexdigest() for m in mailbox.messages.values()}
    assert {p["mime_sha256"] for _s, p in received} <= stored
    assert any(p["parse_defects"] for _s, p in received)
