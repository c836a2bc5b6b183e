"""The pure side of backup and restore: the order of the snapshots, and the checks of a backup and
of a restore (sakspost/manifest.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from sakspost.manifest import (
    FileFound,
    Manifest,
    StreamEntry,
    backup_order,
    consumers_by_stream,
    count_check,
    damaged_files,
    missing_consumers,
    rewinds,
)
from sakspost.registry import full_layout
from services.common.jetstream import (
    CASES_BUCKET,
    DEAD_LETTER_STREAM,
    EVENTS_STREAM,
    FAILURES_BUCKET,
    MIME_BUCKET,
)
from services.common.orgconfig import Organisation
from services.common.settings import Settings


def test_every_stream_of_the_layout_is_saved_before_what_it_refers_to(org: Organisation) -> None:
    layout = full_layout(Settings(), org)
    order = backup_order(layout)
    assert (
        len(order)
        == len(set(order))
        == (len(layout.buckets) + len(layout.streams) + len(layout.object_stores))
    )
    position = {name: index for index, name in enumerate(order)}
    kv = [name for name in order if name.startswith("KV_")]
    assert {f"KV_{bucket.name}" for bucket in layout.buckets} == set(kv)
    # Records in KV refer to events, dead letters to events, events to MIME objects.
    assert max(position[name] for name in kv) < position[DEAD_LETTER_STREAM]
    assert position[DEAD_LETTER_STREAM] < position[EVENTS_STREAM]
    assert order[-1] == f"OBJ_{MIME_BUCKET}"
    assert position[f"KV_{CASES_BUCKET}"] < position[EVENTS_STREAM]
    for stream in layout.streams:
        assert stream.name is not None
        assert position[stream.name] <= position[EVENTS_STREAM]


def test_the_services_consumers_are_found_on_their_streams(org: Organisation) -> None:
    layout = full_layout(Settings(), org)
    by_stream = consumers_by_stream(layout)
    assert "router" in by_stream[EVENTS_STREAM]
    assert sum(len(durables) for durables in by_stream.values()) == len(layout.consumers)


def _entry(name: str, **changes: Any) -> StreamEntry:
    values: dict[str, Any] = {
        "name": name,
        "file": f"{name}.tar.s2",
        "size": 10,
        "sha256": "a" * 64,
        "config": {"name": name, "max_age": 0},
        "state": {"messages": 5, "last_seq": 7},
        "consumer_floors": {},
    }
    values.update(changes)
    return StreamEntry.model_validate(values)


def _manifest(*entries: StreamEntry) -> Manifest:
    now = datetime.now(UTC)
    return Manifest(
        sakspost_version="0.1.0",
        nats_server_version="2.15.1",
        started_at=now,
        finished_at=now,
        streams=entries,
    )


def test_a_restore_goes_in_the_reverse_order_of_the_backup() -> None:
    manifest = _manifest(_entry("KV_a"), _entry(EVENTS_STREAM), _entry("OBJ_m"))
    assert [entry.name for entry in manifest.restore_order()] == ["OBJ_m", EVENTS_STREAM, "KV_a"]


def test_a_missing_resized_or_changed_file_is_damaged() -> None:
    manifest = _manifest(_entry("A"), _entry("B"), _entry("C"), _entry("D"))
    found = {
        "A.tar.s2": FileFound(10, "a" * 64),
        "B.tar.s2": FileFound(11, "a" * 64),
        "C.tar.s2": FileFound(10, "b" * 64),
        "D.tar.s2": None,
    }
    assert damaged_files(manifest, found) == ["B.tar.s2", "C.tar.s2", "D.tar.s2"]
    assert damaged_files(manifest, {**found, **dict.fromkeys(found, FileFound(10, "a" * 64))}) == []


def test_a_restored_stream_must_have_the_snapshots_count_and_last_sequence() -> None:
    entry = _entry("S")
    assert count_check(entry, {"messages": 5, "last_seq": 7}).ok
    assert not count_check(entry, {"messages": 4, "last_seq": 7}).ok
    assert not count_check(entry, {"messages": 5, "last_seq": 6}).ok
    assert not count_check(entry, {"messages": 6, "last_seq": 7}).ok


def test_a_bucket_with_a_ttl_may_have_fewer_messages_never_more() -> None:
    entry = _entry(f"KV_{FAILURES_BUCKET}", config={"max_age": 7 * 24 * 3600 * 10**9})
    assert count_check(entry, {"messages": 2, "last_seq": 7}).ok
    assert not count_check(entry, {"messages": 6, "last_seq": 7}).ok
    assert not count_check(entry, {"messages": 2, "last_seq": 8}).ok


def test_a_consumer_ahead_of_its_recorded_floor_is_put_back_to_it() -> None:
    entry = _entry(EVENTS_STREAM, consumer_floors={"router": 4, "websak": 9, "gone": 1})
    restored = {"router": 6, "websak": 9}
    assert rewinds(entry, restored) == {"router": 4}
    assert missing_consumers(entry, restored) == ["gone"]


def test_a_work_queue_has_nothing_to_deliver_again() -> None:
    entry = _entry(
        "SAKSPOST_INGEST",
        config={"retention": "workqueue"},
        consumer_floors={"ingest-fetcher-post": 4},
    )
    assert rewinds(entry, {"ingest-fetcher-post": 6}) == {}


@pytest.mark.parametrize(
    ("name", "file"), [("S", "../../etc/passwd"), ("../S", "../S.tar.s2"), ("S", "T.tar.s2")]
)
def test_a_manifest_names_only_files_of_its_own_streams_in_its_own_directory(
    name: str, file: str
) -> None:
    with pytest.raises(ValidationError):
        _entry(name, file=file)
