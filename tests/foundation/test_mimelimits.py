"""What a service reads of a stored mail (issue 16, finding 2): the whole mail up to the parse
cap, else only its header block, without ever loading the rest."""

from __future__ import annotations

import pytest

from schemas.events import utc_now
from schemas.vocab import QuarantineReason
from services.common.mail import header_block
from services.common.mimelimits import (
    TOO_LARGE_DEFECT,
    TRUNCATED_DEFECT,
    MailTooLarge,
    MimeParseLimits,
    header_defects,
    read_for_parse,
    read_whole,
)
from services.common.orgconfig import Organisation
from services.common.received import StoredMime, build_received
from tests.support.signing import TEST_KEYS

RAW = b"From: a@example.org\r\nSubject: Stort\r\n\r\n" + b"x" * 10_000
LIMITS = MimeParseLimits(parse_cap=1000, header_cap=100)


class _Store:
    """Holds one mail, and fails a test that reads it whole when it must not."""

    def __init__(self, *, whole_allowed: bool) -> None:
        self._whole_allowed = whole_allowed

    async def get(self, digest: str) -> bytes:
        assert self._whole_allowed, "the whole mail was read"
        return RAW

    async def get_prefix(self, digest: str, limit: int) -> bytes:
        return RAW[:limit]

    async def size(self, digest: str) -> int:
        return len(RAW)


async def test_a_mail_over_the_parse_cap_is_read_as_its_header_block() -> None:
    store = _Store(whole_allowed=False)
    parsed = await read_for_parse(store, "d", len(RAW), LIMITS)
    assert parsed == b"From: a@example.org\r\nSubject: Stort\r\n\r\n"


async def test_a_mail_within_the_parse_cap_is_read_whole() -> None:
    store = _Store(whole_allowed=True)
    roomy = MimeParseLimits(parse_cap=len(RAW), header_cap=100)
    assert await read_for_parse(store, "d", len(RAW), roomy) == RAW


async def test_a_mail_over_the_parse_cap_is_never_read_whole() -> None:
    store = _Store(whole_allowed=False)
    with pytest.raises(MailTooLarge):
        await read_whole(store, "d", LIMITS)


def test_only_the_header_blocks_own_defects_count() -> None:
    found = ["missing-boundary", "header-unparseable:date", "no-body", "charset-unknown:x"]
    assert header_defects(found) == ["header-unparseable:date", "charset-unknown:x"]


def test_a_received_event_built_from_a_header_block_names_the_whole_mime(
    org: Organisation,
) -> None:
    block = (
        b"From: Kari <kari@example.org>\r\nTo: post@ha.kommune.no\r\nSubject: Stort\r\n"
        b"Message-ID: <stort@example.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    )
    event = build_received(
        org,
        "post@ha.kommune.no",
        header_block(block + b"--b\r\n(the rest was never read)"),
        "g-stort",
        utc_now(),
        keys=TEST_KEYS,
        stored=StoredMime("a" * 64, 160 * 1024 * 1024, oversize=True, truncated=True),
    )
    assert (event.mime_sha256, event.mime_size) == ("a" * 64, 160 * 1024 * 1024)
    assert (event.subject, event.internet_message_id) == ("Stort", "stort@example.org")
    # A multipart read without its body has no boundary: that is not the mail's defect.
    assert event.parse_defects == [TOO_LARGE_DEFECT, TRUNCATED_DEFECT]
    assert event.quarantine is QuarantineReason.TOO_LARGE
