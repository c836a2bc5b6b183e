"""Hostile mail, as an attacker would write it (issue #16): the pieces the tests' hypothesis
strategy (`tests/support/hostile.py`) draws from, and the fixed corpus `make bench` measures.

Each piece aims at one way a parser's work can grow faster than its input or its memory: deep
nesting, huge and numerous headers, tag soup, encoded-word storms, address headers full of
comments, subjects full of line breaks, image bombs (a small PNG that declares a huge canvas),
thousands of parts, huge attachments. A mail is a few of them around an ordinary body that holds
an identity number and health words, so that a property can also check that what is readable is
still read (and found sensitive).

`SAKSPOST_HOSTILE_SIZE` scales the largest sizes (default 1).
"""

from __future__ import annotations

import base64
import os
import struct
import zlib
from collections.abc import Callable

# A valid fødselsnummer (its check digits hold) and words the health rules know.
IDENTITY_NUMBER = "03052197693"
ORDINARY_BODY = (
    f"Hei. Eg sender helseopplysningar om mor mi, fødselsnummer {IDENTITY_NUMBER}, som treng "
    "heimesjukepleie etter opphaldet på sjukeheimen.\r\n"
)
SIZE = float(os.environ.get("SAKSPOST_HOSTILE_SIZE", "1"))


def scaled(count: int) -> int:
    return max(1, round(count * SIZE))


def png_bomb(side: int = 9000) -> bytes:
    """A small PNG whose header declares `side` x `side` pixels: decoding it would take
    side² × 4 bytes (324 MB at 9000) from a file of a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    # The first rows only: a decoder allocates the canvas before it finds the data short.
    rows = zlib.compress(b"\x00" + b"\x00" * side * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _mail(headers: list[bytes], body: bytes, content_type: bytes = b"text/plain") -> bytes:
    head = [
        b"From: Innbyggjar <innbyggjar@epost.example>",
        b"To: post@ha.kommune.no",
        b"Message-ID: <hostile@epost.example>",
        b"Date: Mon, 7 Dec 2026 10:00:00 +0100",
        b"MIME-Version: 1.0",
        b"Content-Type: " + content_type,
        *headers,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def deep_nesting(depth: int) -> bytes:
    opening = b"".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n".encode()
        for i in range(depth)
    )
    return (
        b"From: innbyggjar@epost.example\r\nTo: post@ha.kommune.no\r\nSubject: djup\r\n"
        b"Message-ID: <hostile@epost.example>\r\n"
        + opening
        + b"Content-Type: text/plain\r\n\r\n"
        + ORDINARY_BODY.encode()
    )


def many_headers(count: int, length: int) -> bytes:
    headers = [f"X-Pad-{i}: ".encode() + b"a" * length for i in range(count)]
    return _mail([b"Subject: mange felt", *headers], ORDINARY_BODY.encode())


def tag_soup(repeats: int) -> bytes:
    return _mail([b"Subject: html"], b"<a " * repeats, b"text/html; charset=utf-8")


def subject_line_breaks(breaks: int) -> bytes:
    """An encoded subject of blank lines: each `^\\s*` of a MULTILINE rule scanned the rest."""
    encoded = base64.b64encode(("a" + " \n" * breaks + "x").encode()).decode()
    return _mail([f"Subject: =?utf-8?b?{encoded}?=".encode()], ORDINARY_BODY.encode())


def encoded_word_storm(words: int) -> bytes:
    storm = b" ".join(b"=?utf-8?q?=C3=A5?=" for _ in range(words))
    return _mail([b"Subject: " + storm, b"X-Storm: " + b"=?x?q?a" * words], ORDINARY_BODY.encode())


def comment_storm(parentheses: int) -> bytes:
    """A `To:` header the address parser recurses into once per `(` (issue #16, finding 8)."""
    to = b"To: " + b"(" * parentheses + b"post@ha.kommune.no"
    return _mail([b"Subject: brev", to], ORDINARY_BODY.encode())


def many_parts(parts: int) -> bytes:
    chunks = [b"--p\r\nContent-Type: text/plain\r\n\r\n" + ORDINARY_BODY.encode()]
    chunks += [
        f"--p\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
        f'filename="v{i}.bin"\r\n\r\nx\r\n'.encode()
        for i in range(parts)
    ]
    return _mail(
        [b"Subject: vedlegg"], b"".join(chunks) + b"--p--\r\n", b"multipart/mixed; boundary=p"
    )


def huge_attachment(megabytes: int) -> bytes:
    data = _b64(b"\x00" * (megabytes * 1024 * 1024))
    body = (
        b"--p\r\nContent-Type: text/plain\r\n\r\n"
        + ORDINARY_BODY.encode()
        + b"--p\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        + b'Content-Disposition: attachment; filename="stor.bin"\r\n\r\n'
        + data
        + b"--p--\r\n"
    )
    return _mail([b"Subject: stort vedlegg"], body, b"multipart/mixed; boundary=p")


def image_bomb(side: int) -> bytes:
    body = (
        b"--p\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + b'<p>Sj\xc3\xa5 biletet</p><img src="cid:bomb">\r\n'
        + b"--p\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
        + b"Content-ID: <bomb>\r\n\r\n"
        + _b64(png_bomb(side))
        + b"--p--\r\n"
    )
    return _mail([b"Subject: bilete"], body, b"multipart/related; boundary=p")


def identity_storm(kilobytes: int) -> bytes:
    """A body of valid identity numbers: each one is checked and its label looked for (R2), so
    the classification costs about 1.5 ms per KB: linear, and what a CPU limit is for."""
    line = f"fnr {IDENTITY_NUMBER} "
    return _mail([b"Subject: liste"], (line * (kilobytes * 1024 // len(line))).encode())


# Each hostile piece with the sizes hypothesis draws from: (name, build, smallest, largest).
PIECES: tuple[tuple[str, Callable[[int], bytes], int, int], ...] = (
    ("deep_nesting", deep_nesting, 20, scaled(2000)),
    ("many_headers", lambda n: many_headers(n, 40), 100, scaled(20_000)),
    ("long_header", lambda n: many_headers(1, n), 1000, scaled(2_000_000)),
    ("tag_soup", tag_soup, 1000, scaled(200_000)),
    ("subject_line_breaks", subject_line_breaks, 100, scaled(50_000)),
    ("encoded_word_storm", encoded_word_storm, 100, scaled(50_000)),
    ("comment_storm", comment_storm, 100, scaled(50_000)),
    ("many_parts", many_parts, 100, scaled(10_000)),
    ("huge_attachment", huge_attachment, 1, scaled(8)),
    ("image_bomb", image_bomb, 1000, 20_000),
    ("identity_storm", identity_storm, 1, scaled(1024)),
)


def hostile_corpus() -> list[tuple[str, bytes]]:
    """A fixed list: every piece at its largest size (the bench's corpus)."""
    return [(name, build(largest)) for name, build, _smallest, largest in PIECES]
