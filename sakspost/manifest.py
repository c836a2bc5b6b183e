"""What a backup holds and in which order, and how a backup and a restore are checked: pure logic.

A backup is a directory with one snapshot file per stream (JetStream's own format, s2-compressed
tar, consumers included) and `manifest.json`, written last: a directory without a manifest is not
a finished backup.

Order. Sakspost takes the snapshots one after the other while mail keeps flowing, so they are
consistent only if whatever a snapshot refers to is saved after it: case records and receipts in
KV refer to events, dead letters and events refer to events and MIME objects. Streams only grow
(R13), so a target saved later still holds everything an earlier snapshot refers to. Hence KV
first, then the other streams, the events stream, and the Object Store last; a restore goes the
other way, so that what is referred to is back before what refers to it.

Consumers. A service writes KV before it acknowledges, so a consumer's position in the events
snapshot (taken after KV) may be ahead of what the KV snapshot holds. The services' acknowledgement
floors are therefore recorded before the first snapshot; a restore puts back any consumer found
ahead of its recorded floor, and the messages in between are handled again (handlers are
idempotent), instead of their effects being lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.jetstream import EVENTS_STREAM, Layout

MANIFEST_NAME = "manifest.json"
SNAPSHOT_SUFFIX = ".tar.s2"
# nats-py names the streams behind its KV buckets and object stores so (as nats.go does).
KV_STREAM_PREFIX = "KV_"
OBJECT_STREAM_PREFIX = "OBJ_"


class _Rank(IntEnum):
    """Position in the backup: what refers to something comes before it."""

    KV = 0
    STREAM = 1
    EVENTS = 2
    OBJECTS = 3


def backup_order(layout: Layout) -> tuple[str, ...]:
    """Every stream of `layout`, KV buckets first and the Object Store last."""
    ranked = [(_Rank.KV, KV_STREAM_PREFIX + bucket.name) for bucket in layout.buckets]
    for stream in layout.streams:
        assert stream.name is not None
        ranked.append((_Rank.EVENTS if stream.name == EVENTS_STREAM else _Rank.STREAM, stream.name))
    ranked += [(_Rank.OBJECTS, OBJECT_STREAM_PREFIX + store) for store in layout.object_stores]
    # sorted() is stable: within a rank, the layout's order.
    return tuple(name for _, name in sorted(ranked, key=lambda pair: pair[0]))


def consumers_by_stream(layout: Layout) -> dict[str, tuple[str, ...]]:
    """The services' durable consumers, by the stream they read."""
    found: dict[str, list[str]] = {}
    for spec in layout.consumers:
        found.setdefault(spec.stream, []).append(spec.durable)
    return {stream: tuple(durables) for stream, durables in found.items()}


def snapshot_file(stream: str) -> str:
    return stream + SNAPSHOT_SUFFIX


class StreamEntry(BaseModel):
    """One stream's snapshot. `config` and `state` are the server's own JSON, kept as it came, so
    a restore gives the server back exactly what it described (fields nats-py does not know
    included)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A stream name as JetStream allows it: no path separators, so `file` stays in the backup.
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    file: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    config: dict[str, Any]
    state: dict[str, Any]
    # The acknowledgement floor of each service consumer of this stream before the first snapshot.
    consumer_floors: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _file_is_named_after_the_stream(self) -> StreamEntry:
        if self.file != snapshot_file(self.name):
            raise ValueError(f"file must be {snapshot_file(self.name)}")
        return self

    @property
    def messages(self) -> int:
        return int(self.state.get("messages", 0))

    @property
    def last_seq(self) -> int:
        return int(self.state.get("last_seq", 0))


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = 1
    sakspost_version: str
    nats_server_version: str
    started_at: datetime
    finished_at: datetime
    streams: tuple[StreamEntry, ...]

    def restore_order(self) -> tuple[StreamEntry, ...]:
        """The streams in the reverse of the backup order: what is referred to first."""
        return tuple(reversed(self.streams))


@dataclass(frozen=True)
class FileFound:
    """A snapshot file as found on disk: its size and SHA-256."""

    size: int
    sha256: str


def damaged_files(manifest: Manifest, found: Mapping[str, FileFound | None]) -> list[str]:
    """The snapshot files that are missing or differ from the manifest, in the manifest's order."""
    damaged = []
    for entry in manifest.streams:
        seen = found.get(entry.file)
        if seen is None or seen.size != entry.size or seen.sha256 != entry.sha256:
            damaged.append(entry.file)
    return damaged


@dataclass(frozen=True)
class CountCheck:
    stream: str
    expected_messages: int
    messages: int
    expected_last_seq: int
    last_seq: int

    @property
    def ok(self) -> bool:
        return self.messages == self.expected_messages and self.last_seq == self.expected_last_seq


def count_check(entry: StreamEntry, restored_state: Mapping[str, Any]) -> CountCheck:
    """The restored stream's message count and last sequence against the snapshot's.

    A bucket with a TTL (the failure counts) may have expired messages since the backup: there,
    fewer messages are expected, never more, and the last sequence stays the same.
    """
    messages = int(restored_state.get("messages", 0))
    expected = entry.messages
    if _has_max_age(entry.config) and messages <= expected:
        expected = messages
    return CountCheck(
        entry.name, expected, messages, entry.last_seq, int(restored_state.get("last_seq", 0))
    )


def _has_max_age(config: Mapping[str, Any]) -> bool:
    return int(config.get("max_age") or 0) > 0


def rewinds(entry: StreamEntry, restored_floors: Mapping[str, int]) -> dict[str, int]:
    """The consumers that came back ahead of their recorded floor, and the floor to restart from.

    Only a stream that keeps what was acknowledged (limits retention) can deliver it again: a work
    queue has deleted it (and JetStream refuses a consumer there that does not deliver all).
    Only consumers present after the restore are considered: `missing_consumers` reports the rest.
    """
    if entry.config.get("retention", "limits") != "limits":
        return {}
    return {
        name: floor
        for name, floor in entry.consumer_floors.items()
        if name in restored_floors and restored_floors[name] > floor
    }


def missing_consumers(entry: StreamEntry, present: Iterable[str]) -> list[str]:
    have = set(present)
    return [name for name in entry.consumer_floors if name not in have]
