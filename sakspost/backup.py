"""`sakspost backup DIR` and `sakspost restore DIR`: every stream of Sakspost to files and back.

JetStream holds the only copy of every mail's event history and raw MIME, so these save the event
stream, the dead letters, every KV bucket and the Object Store with their consumers, in the order
and with the checks `manifest.py` explains, over the protocol in `snapshot.py`. Both run as the
`admin` identity. A backup directory is written once: it must not exist, its files are written
under temporary names, synced and renamed, and `manifest.json` comes last. A restore checks every
file against the manifest before it touches JetStream, and goes only into a JetStream that holds
none of the streams.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from pydantic import ValidationError
from rich.filesize import decimal

from sakspost.manifest import (
    MANIFEST_NAME,
    CountCheck,
    FileFound,
    Manifest,
    StreamEntry,
    backup_order,
    consumers_by_stream,
    count_check,
    damaged_files,
    missing_consumers,
    rewinds,
    snapshot_file,
)
from sakspost.snapshot import (
    API_TIMEOUT_SECONDS,
    CHUNK_BYTES,
    JetStreamApiError,
    api_errors,
    restore_stream,
    snapshot_stream,
)
from sakspost.texts import text
from services.common.connect import NatsUnavailable, connect_once
from services.common.jetstream import Layout, restart_consumer_after
from services.common.settings import Settings

CONNECTION_NAME = "sakspost-backup"
PART_SUFFIX = ".part"

Say = Callable[[str], None]


class BackupFailed(Exception):
    """Stops a backup or a restore; the message is one line for the person at the terminal."""


async def _connect(settings: Settings) -> Client:
    """The connection of both commands, as the `admin` identity: the one place that says so."""
    try:
        return await connect_once(settings, "admin", CONNECTION_NAME)
    except NatsUnavailable as error:
        raise BackupFailed(str(error)) from None


# --- backup ---------------------------------------------------------------------------------


async def back_up(settings: Settings, layout: Layout, directory: Path, say: Say) -> Manifest:
    """Snapshot every stream of `layout` into the new directory `directory`."""
    streams = backup_order(layout)
    started, clock = datetime.now(UTC), time.monotonic()
    _claim(directory)
    try:
        connection = await _connect(settings)
        try:
            await _require_streams(connection, streams)
            # Before the first snapshot: see manifest.py, "Consumers".
            floors = await _consumer_floors(connection, layout)
            entries = []
            for stream in streams:
                entry = await _snapshot_to_file(connection, stream, directory, floors)
                say(_stream_line("backup_stream", entry))
                entries.append(entry)
            server = connection.connected_server_version
            server_version = f"{server.major}.{server.minor}.{server.patch}"
        except (JetStreamApiError, NatsError) as error:
            raise BackupFailed(_failure(error)) from None
        finally:
            await connection.close()
        manifest = Manifest(
            sakspost_version=version("sakspost"),
            nats_server_version=server_version,
            started_at=started,
            finished_at=datetime.now(UTC),
            streams=tuple(entries),
        )
        with _writing(directory):
            _write_file(directory / MANIFEST_NAME, manifest.model_dump_json(indent=2).encode())
    except BaseException:
        # Nothing half-written is left under the name: the same command can simply run again.
        shutil.rmtree(directory, ignore_errors=True)
        raise
    total = sum(entry.size for entry in manifest.streams)
    say(
        text(
            "backup_done",
            dir=directory,
            count=len(manifest.streams),
            size=decimal(total),
            seconds=round(time.monotonic() - clock, 1),
        )
    )
    return manifest


def _claim(directory: Path) -> None:
    """Create `directory`, which must not exist: creating it is what makes it this backup's."""
    with _writing(directory):
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            directory.mkdir()
        except FileExistsError:
            raise BackupFailed(text("backup_exists", dir=directory)) from None


@contextmanager
def _writing(directory: Path) -> Iterator[None]:
    """A backup volume that is full, read-only or not ours fails in one line."""
    try:
        yield
    except OSError as error:
        raise BackupFailed(text("backup_unwritable", dir=directory, reason=error)) from None


async def _require_streams(connection: Client, streams: Sequence[str]) -> None:
    missing = [stream for stream in streams if not await _exists(connection, stream)]
    if missing:
        raise BackupFailed(text("backup_missing_streams", streams=", ".join(missing)))


async def _consumer_floors(connection: Client, layout: Layout) -> dict[str, dict[str, int]]:
    """Each service consumer's acknowledgement floor, by stream (a missing one is left out)."""
    floors: dict[str, dict[str, int]] = {}
    for stream, durables in consumers_by_stream(layout).items():
        for durable in durables:
            info = await _consumer(connection, stream, durable)
            if info is not None:
                floors.setdefault(stream, {})[durable] = _floor(info)
    return floors


async def _snapshot_to_file(
    connection: Client, stream: str, directory: Path, floors: dict[str, dict[str, int]]
) -> StreamEntry:
    name = snapshot_file(stream)
    with _writing(directory):
        target = _SnapshotFile(directory / name)
    try:
        described = await snapshot_stream(connection, stream, target.write)
        target.keep()
    finally:
        target.close()
    return StreamEntry(
        name=stream,
        file=name,
        size=target.size,
        sha256=target.digest.hexdigest(),
        config=described.config,
        state=described.state,
        consumer_floors=floors.get(stream, {}),
    )


class _SnapshotFile:
    """A snapshot file as it arrives: hashed as it grows, under a temporary name until kept.

    The directory is synced once, after the manifest's rename, which makes every rename before it
    durable too.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._part = path.with_name(path.name + PART_SUFFIX)
        self._out = self._part.open("xb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        with _writing(self._path.parent):
            self._out.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)

    def keep(self) -> None:
        with _writing(self._path.parent):
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            self._part.rename(self._path)

    def close(self) -> None:
        self._out.close()


def _write_file(path: Path, data: bytes) -> None:
    """Write under a temporary name, sync, rename, and sync the directory, so the file is there
    whole or not at all, also after a crash."""
    part = path.with_name(path.name + PART_SUFFIX)
    with part.open("xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    part.rename(path)
    handle = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


# --- restore --------------------------------------------------------------------------------


async def restore(settings: Settings, directory: Path, say: Say) -> Manifest:
    """Restore the backup in `directory` into a JetStream that holds none of its streams."""
    manifest = _read_manifest(directory)
    found = {entry.file: _file_found(directory / entry.file) for entry in manifest.streams}
    damaged = damaged_files(manifest, found)
    if damaged:
        raise BackupFailed(
            text("restore_damaged", dir=directory, files=", ".join(damaged), manifest=MANIFEST_NAME)
        )
    say(
        text(
            "restore_verified",
            count=len(found),
            manifest=MANIFEST_NAME,
            at=manifest.finished_at.isoformat(timespec="seconds"),
            version=manifest.sakspost_version,
        )
    )
    connection = await _connect(settings)
    try:
        present = [
            entry.name for entry in manifest.streams if await _exists(connection, entry.name)
        ]
        if present:
            raise BackupFailed(text("restore_not_empty", streams=", ".join(present)))
        wrong = await _restore_all(connection, manifest, directory, settings, say)
    except (JetStreamApiError, NatsError) as error:
        raise BackupFailed(_failure(error)) from None
    finally:
        await connection.close()
    if wrong:
        raise BackupFailed(text("restore_wrong", streams=", ".join(wrong)))
    say(text("restore_done", count=len(manifest.streams), dir=directory))
    return manifest


def _read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BackupFailed(
            text("restore_no_manifest", dir=directory, manifest=MANIFEST_NAME)
        ) from None
    except OSError as error:
        raise BackupFailed(text("restore_bad_manifest", path=path, reason=error)) from None
    try:
        return Manifest.model_validate_json(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "/"
        reason = f"{where}: {first['msg']}"
        raise BackupFailed(text("restore_bad_manifest", path=path, reason=reason)) from None


def _file_found(path: Path) -> FileFound | None:
    """The file's size and SHA-256; None when it cannot be read (missing, no permission)."""
    try:
        with path.open("rb") as source:
            digest = hashlib.file_digest(source, "sha256").hexdigest()
            size = source.tell()
    except OSError:
        return None
    return FileFound(size, digest)


async def _restore_all(
    connection: Client,
    manifest: Manifest,
    directory: Path,
    settings: Settings,
    say: Say,
) -> list[str]:
    """Restore each stream, what is referred to first; returns the streams that came back wrong."""
    wrong: list[str] = []
    done: list[str] = []
    for entry in manifest.restore_order():
        # Replicas are the deployment's (SAKSPOST_STREAM_REPLICAS), as provisioning sets them: a
        # backup of a 3-node cluster restores onto one node, and the other way round.
        config = dict(entry.config, num_replicas=settings.stream_replicas)
        try:
            state = await restore_stream(
                connection, config, entry.state, _chunks(directory / entry.file)
            )
            done.append(entry.name)
            check = count_check(entry, state)
            say(_stream_line("restore_stream", entry) if check.ok else _count_line(check))
            consumers_back = await _consumers_back(connection, entry, say)
        except (JetStreamApiError, NatsError) as error:
            # What is restored stays; JetStream must be emptied before the next attempt.
            raise BackupFailed(
                text("restore_stopped", reason=_failure(error), done=", ".join(done) or "-")
            ) from None
        if not (check.ok and consumers_back):
            wrong.append(entry.name)
    return wrong


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk


async def _consumers_back(connection: Client, entry: StreamEntry, say: Say) -> bool:
    """Every recorded service consumer is back; those ahead of their floor are put back to it."""
    infos = {}
    for durable in entry.consumer_floors:
        info = await _consumer(connection, entry.name, durable)
        if info is not None:
            infos[durable] = info
    missing = missing_consumers(entry, infos)
    if missing:
        say(text("restore_missing_consumers", stream=entry.name, consumers=", ".join(missing)))
    restored_floors = {durable: _floor(info) for durable, info in infos.items()}
    for durable, floor in rewinds(entry, restored_floors).items():
        with api_errors(connection, f"$JS.API.CONSUMER.CREATE.{entry.name}.{durable}"):
            await restart_consumer_after(_js(connection), entry.name, infos[durable].config, floor)
        say(text("restore_rewound", stream=entry.name, consumer=durable, floor=floor))
    return not missing


# --- shared ---------------------------------------------------------------------------------


def _js(connection: Client) -> JetStreamContext:
    return connection.jetstream(timeout=API_TIMEOUT_SECONDS)


async def _exists(connection: Client, stream: str) -> bool:
    with api_errors(connection, f"$JS.API.STREAM.INFO.{stream}"):
        try:
            await _js(connection).stream_info(stream)
        except NotFoundError:
            return False
    return True


async def _consumer(connection: Client, stream: str, durable: str) -> api.ConsumerInfo | None:
    with api_errors(connection, f"$JS.API.CONSUMER.INFO.{stream}.{durable}"):
        try:
            info: api.ConsumerInfo = await _js(connection).consumer_info(stream, durable)
        except NotFoundError:
            return None
    return info


def _floor(info: api.ConsumerInfo) -> int:
    return (info.ack_floor.stream_seq or 0) if info.ack_floor else 0


def _stream_line(key: str, entry: StreamEntry) -> str:
    return text(
        key,
        stream=entry.name,
        messages=entry.messages,
        last_seq=entry.last_seq,
        consumers=int(entry.state.get("consumer_count", 0)),
        file=entry.file,
        size=decimal(entry.size),
    )


def _count_line(check: CountCheck) -> str:
    return text(
        "restore_count",
        stream=check.stream,
        messages=check.messages,
        last_seq=check.last_seq,
        expected_messages=check.expected_messages,
        expected_last_seq=check.expected_last_seq,
    )


def _failure(error: JetStreamApiError | NatsError) -> str:
    if isinstance(error, JetStreamApiError):
        return text(f"api_{error.failure}", subject=error.subject, detail=error.detail)
    return text("nats_lost", reason=error)  # the connection closed under the command
