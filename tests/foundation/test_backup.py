"""`sakspost backup` and `sakspost restore` on a real nats-server: back up, wipe the server's store,
restore, and find every case record, receipt, event, dead letter and MIME object byte for byte, and
the services' durable consumers where they were; and the refusals that keep a backup or a
JetStream from harm.

The server runs with Sakspost's accounts, as production does: the commands log in as `admin` from
the server's credentials folder, the test fills JetStream as the services that own each part
(ingest the MIME and `received`, the router its case records, dead letters and consumer, websak its
receipts) and inspects it as `admin`. A wiped server comes back with the same credentials."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from sakspost.backup import BackupFailed, back_up
from sakspost.inject import inject_files
from sakspost.manifest import MANIFEST_NAME, backup_order
from services.common.connect import connect_login
from services.common.jetstream import (
    CASES_BUCKET,
    DEAD_LETTER_PREFIX,
    DEAD_LETTER_STREAM,
    EVENTS_STREAM,
    RECEIPTS_BUCKET,
    WRITEBACKS_BUCKET,
    Layout,
)
from services.common.mail import parse_mail
from services.common.mimestore import MimeStore
from services.common.natsserver import NatsServer, free_port, start_nats_server
from services.common.orgconfig import Organisation
from services.common.received import official_recipient
from services.common.settings import REPO_ROOT, Settings
from services.router.record import CaseRecord
from services.router.store import CaseStore
from services.router.transitions import open_case
from services.websak.receipts import ArchiveRequest, Receipt, ReceiptStore
from tests.conftest import SAMPLES
from tests.support import provisioning
from tests.support.environment import nats_environment

pytestmark = pytest.mark.integration

# Larger than one Object Store chunk and one snapshot chunk (128 KiB each), and incompressible, so
# both the snapshot's flow control and the restore's upload go through many chunks.
ATTACHMENT_BYTES = 600 * 1024


async def _sakspost(settings: Settings, *args: str, **login: str) -> tuple[int, str, list[str]]:
    """`sakspost ARGS` as an operator runs it: exit code, output, and the error lines.

    It reaches the server of `settings` and logs in as `admin` from its credentials folder, unless
    `login` gives SAKSPOST_NATS_USER and SAKSPOST_NATS_PASSWORD."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sakspost",
        *args,
        cwd=REPO_ROOT,
        env=nats_environment(settings, SAKSPOST_LANGUAGE="en", **login),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, error = await process.communicate()
    return process.returncode or 0, output.decode(), error.decode().splitlines()


def _shared_samples(org: Organisation, count: int) -> list[tuple[Path, str]]:
    chosen = []
    for path in sorted(SAMPLES.glob("*.eml")):
        mailbox = official_recipient(parse_mail(path.read_bytes()), org)
        if mailbox is not None:
            chosen.append((path, mailbox))
    return chosen[:count]


def _mail_with_attachment(directory: Path) -> tuple[Path, str]:
    mail = EmailMessage()
    mail["From"] = "Entreprenør AS <post@entreprenor.invalid>"
    mail["To"] = "post@ha.kommune.no"
    mail["Subject"] = "Søknad om byggjeløyve, teikningar vedlagde"
    mail["Message-ID"] = "<backup-attachment@entreprenor.invalid>"
    mail.set_content("Vedlagt er teikningane til søknaden.")
    mail.add_attachment(
        os.urandom(ATTACHMENT_BYTES), maintype="application", subtype="pdf", filename="teikning.pdf"
    )
    path = directory / "attachment.eml"
    path.write_bytes(bytes(mail))
    return path, "post@ha.kommune.no"


@dataclass(frozen=True)
class Filled:
    """What the test put into JetStream through Sakspost's own code."""

    records: dict[str, CaseRecord]
    mime: dict[str, bytes]
    receipt: Receipt


async def _fill(
    settings: Settings, org: Organisation, server: NatsServer, tmp_path: Path
) -> Filled:
    """Each part written by the service that owns it, with exactly that service's rights."""
    mails = [*_shared_samples(org, 5), _mail_with_attachment(tmp_path)]
    # As ingest: MIME first, then `received`.
    injected = await inject_files(settings, org, mails)
    async with (
        _connected(server, "router") as router_connection,
        _connected(server, "websak") as websak_connection,
    ):
        js = router_connection.jetstream()
        cases = CaseStore(await js.key_value(CASES_BUCKET), await js.key_value(WRITEBACKS_BUCKET))
        records = {}
        for result in injected:
            event = result.event
            record = open_case(event, event.department)
            assert await cases.create(record) is not None
            records[event.case_id] = record
        first = injected[0].event
        receipt = Receipt(
            request=ArchiveRequest(
                case_id=first.case_id,
                department=first.department,
                mime_sha256=first.mime_sha256,
                sensitive=False,
                conversation_id=first.conversation_id,
                routed_event_id="routed-" + first.event_id,
            ),
            started_at=first.occurred_at,
        )
        receipts = await websak_connection.jetstream().key_value(RECEIPTS_BUCKET)
        await ReceiptStore(receipts).create(receipt)
        await js.publish(
            f"{DEAD_LETTER_PREFIX}.router",
            b'{"not": "an event"}',
            headers={"Sakspost-Reason": "poison", "Sakspost-Original-Sequence": "1"},
        )
        # The router's consumer: two messages acknowledged, two delivered and waiting.
        router = await js.pull_subscribe_bind("router", stream=EVENTS_STREAM)
        fetched = await router.fetch(4, timeout=10)
        for message in fetched[:2]:
            await message.ack_sync()
        await router.unsubscribe()
    mime = {
        result.event.mime_sha256: path.read_bytes()
        for (path, _), result in zip(mails, injected, strict=True)
    }
    return Filled(records, mime, receipt)


async def _everything(js: JetStreamContext, layout: Layout) -> dict[str, Any]:
    """Every stream's state and every message (subject, headers, bytes), and every consumer's."""
    seen: dict[str, Any] = {}
    for stream in backup_order(layout):
        state = (await js.stream_info(stream)).state
        messages = []
        for seq in range(max(state.first_seq, 1), state.last_seq + 1):
            try:
                message = await js.get_msg(stream, seq)
            except NotFoundError:
                continue  # replaced in a bucket with a history limit
            messages.append((seq, message.subject, message.headers, message.data))
        # An empty stream's first sequence says nothing (a restored one reports last + 1).
        first = state.first_seq if state.messages else None
        seen[stream] = (state.messages, state.bytes, first, state.last_seq, messages)
    for spec in layout.consumers:
        info = await js.consumer_info(spec.stream, spec.durable)
        seen[f"consumer {spec.durable}"] = (
            info.delivered.stream_seq if info.delivered else None,
            info.ack_floor.stream_seq if info.ack_floor else None,
            info.num_ack_pending,
            info.num_pending,
            info.num_redelivered,
            info.config.filter_subjects,
            info.config.ack_wait,
        )
    return seen


@asynccontextmanager
async def _connected(server: NatsServer, identity: str = "admin") -> AsyncIterator[Client]:
    """A connection as `identity`; `admin` may inspect everything (and write no event)."""
    connection = await connect_login(server.login(identity), f"test-backup-{identity}")
    try:
        yield connection
    finally:
        await connection.close()


@asynccontextmanager
async def _wiped(server: NatsServer, tmp_path: Path) -> AsyncIterator[NatsServer]:
    """The server stopped and its store deleted, then a fresh one on the same port, with the
    same credentials (the identities' passwords are the deployment's, not the store's)."""
    server.stop()
    (node,) = server.nodes
    shutil.rmtree(node.config.store_dir)
    fresh = start_nats_server(
        node.config.store_dir.parent,
        port=server.port,
        log_file=tmp_path / "nats-server-fresh.log",
        credentials_dir=server.credentials_dir,
    )
    try:
        yield fresh
    finally:
        fresh.stop()


@pytest.fixture
def layout() -> Layout:
    """What `sakspost provision` creates with the test settings: `nats_server` comes with it,
    provisioned by admin."""
    return provisioning.test_layout()


async def test_a_restore_brings_back_every_case_record_event_and_mime_object(
    nats_server: NatsServer, settings: Settings, org: Organisation, layout: Layout, tmp_path: Path
) -> None:
    filled = await _fill(settings, org, nats_server, tmp_path)
    async with _connected(nats_server) as connection:
        before = await _everything(connection.jetstream(), layout)
    backup = tmp_path / "backups" / "2026-12-06"

    code, output, errors = await _sakspost(nats_server.settings(), "backup", str(backup))
    assert (code, errors) == (0, []), output
    manifest = json.loads((backup / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert [entry["name"] for entry in manifest["streams"]] == list(backup_order(layout))
    assert sorted(path.name for path in backup.iterdir()) == sorted(
        [MANIFEST_NAME, *(entry["file"] for entry in manifest["streams"])]
    )
    assert manifest["streams"][-1]["state"]["messages"] > ATTACHMENT_BYTES // (128 * 1024)
    for entry in manifest["streams"]:
        assert f"{entry['name']}: {entry['state']['messages']} messages" in output

    async with _wiped(nats_server, tmp_path) as fresh:
        async with _connected(fresh) as connection:
            assert await connection.jetstream().streams_info() == []
        code, output, errors = await _sakspost(fresh.settings(), "restore", str(backup))
        assert (code, errors) == (0, []), output
        async with _connected(fresh) as connection:
            js = connection.jetstream()
            after = await _everything(js, layout)
            cases = CaseStore(
                await js.key_value(CASES_BUCKET), await js.key_value(WRITEBACKS_BUCKET)
            )
            receipts = ReceiptStore(await js.key_value(RECEIPTS_BUCKET))
            mime = MimeStore(js)
            for case_id, record in filled.records.items():
                loaded = await cases.load(case_id)
                assert loaded is not None and loaded.record == record
            stored = await receipts.get(filled.receipt.request.case_id)
            assert stored is not None and stored[0] == filled.receipt
            for digest, raw in filled.mime.items():
                assert await mime.get(digest) == raw
            dead = await js.get_msg(DEAD_LETTER_STREAM, 1)
            assert dead.headers is not None and dead.headers["Sakspost-Reason"] == "poison"

    assert after == before
    assert before["consumer router"][:3] == (4, 2, 2)


async def test_a_restore_into_a_jetstream_that_holds_a_stream_is_refused(
    nats_server: NatsServer, settings: Settings, layout: Layout, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    await back_up(settings, layout, backup, lambda _line: None)

    async with _wiped(nats_server, tmp_path) as fresh:
        async with _connected(fresh) as connection:
            await connection.jetstream().add_stream(name=EVENTS_STREAM, subjects=["sakspost.>"])
        code, _output, errors = await _sakspost(fresh.settings(), "restore", str(backup))
        async with _connected(fresh) as connection:
            left = await connection.jetstream().streams_info()

    assert code == 1
    assert len(errors) == 1
    assert errors[0].startswith(f"JetStream already holds {EVENTS_STREAM}:")
    assert "a restore goes only into an empty JetStream" in errors[0]
    # Nothing was restored beside what was there.
    assert [info.config.name for info in left] == [EVENTS_STREAM]


async def test_a_corrupted_snapshot_file_is_found_before_anything_is_restored(
    nats_server: NatsServer, settings: Settings, layout: Layout, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    await back_up(settings, layout, backup, lambda _line: None)
    damaged = backup / f"{EVENTS_STREAM}.tar.s2"
    content = bytearray(damaged.read_bytes())
    content[len(content) // 2] ^= 0x01
    damaged.write_bytes(bytes(content))

    async with _wiped(nats_server, tmp_path) as fresh:
        code, _output, errors = await _sakspost(fresh.settings(), "restore", str(backup))
        async with _connected(fresh) as connection:
            left = await connection.jetstream().streams_info()

    assert code == 1
    assert errors == [
        f"The backup in {backup} is damaged: {damaged.name} missing or not matching their "
        f"SHA-256 in {MANIFEST_NAME}; nothing was restored"
    ]
    assert left == []


async def test_a_backup_never_writes_into_an_existing_directory(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    earlier = tmp_path / "backup"
    earlier.mkdir()
    (earlier / MANIFEST_NAME).write_text("an earlier backup", encoding="utf-8")

    code, _output, errors = await _sakspost(nats_server.settings(), "backup", str(earlier))

    assert code == 1
    assert errors == [
        f"{earlier} already exists: a backup is never overwritten (choose a new directory)"
    ]
    assert [path.name for path in earlier.iterdir()] == [MANIFEST_NAME]
    assert (earlier / MANIFEST_NAME).read_text(encoding="utf-8") == "an earlier backup"


async def test_a_backup_that_fails_leaves_no_directory_behind(
    bare_nats_server: NatsServer, layout: Layout, tmp_path: Path
) -> None:
    # Nothing provisioned: the streams are missing, and the backup stops before any snapshot.
    settings = bare_nats_server.settings(data_dir=tmp_path / "data", **provisioning.TEST_SETTINGS)
    backup = tmp_path / "backup"
    with pytest.raises(BackupFailed, match="`sakspost provision`"):
        await back_up(settings, layout, backup, lambda _line: None)
    assert not backup.exists()


async def test_a_consumer_found_ahead_of_its_floor_before_the_backup_is_put_back(
    nats_server: NatsServer, settings: Settings, org: Organisation, layout: Layout, tmp_path: Path
) -> None:
    await _fill(settings, org, nats_server, tmp_path)
    backup = tmp_path / "backup"
    await back_up(settings, layout, backup, lambda _line: None)
    # As if the router had acknowledged its first two messages between the recording of the
    # floors and the snapshot of the events stream.
    manifest_path = backup / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    events = next(entry for entry in manifest["streams"] if entry["name"] == EVENTS_STREAM)
    assert events["consumer_floors"]["router"] == 2
    events["consumer_floors"]["router"] = 0
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    async with _wiped(nats_server, tmp_path) as fresh:
        code, output, errors = await _sakspost(fresh.settings(), "restore", str(backup))
        async with _connected(fresh) as connection:
            info = await connection.jetstream().consumer_info(EVENTS_STREAM, "router")
        # What the router itself is given next, with its own login.
        async with _connected(fresh, "router") as connection:
            js = connection.jetstream()
            router = await js.pull_subscribe_bind("router", stream=EVENTS_STREAM)
            first = (await router.fetch(1, timeout=10))[0]

    assert (code, errors) == (0, []), output
    assert f"{EVENTS_STREAM}: router continues after sequence 0" in output
    assert info.ack_floor is not None and info.ack_floor.stream_seq == 0
    assert tuple(info.config.filter_subjects or ()) == next(
        spec.filter_subjects for spec in layout.consumers if spec.durable == "router"
    )
    assert first.metadata.sequence.stream == 1


async def test_unreachable_nats_is_one_line_and_a_failure(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    code, _output, errors = await _sakspost(
        Settings(nats_url=url),
        "backup",
        str(tmp_path / "backup"),
        SAKSPOST_NATS_USER="admin",
        SAKSPOST_NATS_PASSWORD="sany",
    )
    assert code == 1
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"cannot reach NATS at {url} within 5 s ("), errors
    assert not (tmp_path / "backup").exists()


async def test_a_missing_permission_is_one_line_that_names_the_subject(
    nats_server: NatsServer, layout: Layout, tmp_path: Path
) -> None:
    """As `operator`, who may look at every stream and consumer but take no snapshot."""
    operator = nats_server.login("operator")
    assert operator.user is not None and operator.password is not None
    code, _output, errors = await _sakspost(
        nats_server.settings(),
        "backup",
        str(tmp_path / "backup"),
        SAKSPOST_NATS_USER=operator.user,
        SAKSPOST_NATS_PASSWORD=operator.password.get_secret_value(),
    )
    assert code == 1
    assert len(errors) == 1, errors
    # The first snapshot asked for, of the first stream of the backup: a KV bucket.
    first = backup_order(layout)[0]
    assert first.startswith("KV_")
    assert errors[0].startswith(f"No permission for $JS.API.STREAM.SNAPSHOT.{first}: "), errors
    assert not (tmp_path / "backup").exists()
