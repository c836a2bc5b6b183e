"""The filing marker: how websak knows its own journalpost again after a crash (R9a), and why no
sender can forge one.

A journalpost is made from a template and carries nothing of Sakspost's but its title, so websak
appends a marker to every title it writes: `[SP-<case id>-<tag>]`, where the tag is an HMAC-SHA256
of the case id under a key only websak holds (`SAKSPOST_WEBSAK_MARKER_KEY`). The case id stays
readable, so a person (or a test) finds a case's journalpost by it; the tag is what makes it
websak's. Case ids can be computed by anyone from a mailbox and a Message-ID; the tag cannot.

Two more locks, because the rest of a title is the sender's subject and the journal is public (a
marker seen there can be copied into a new mail): text in a subject that looks like a marker is
neutralised before it goes into a title (`neutralise_markers`), and a marker is found only as the
last word of a title, exactly (`holds_marker`), never as a substring. Recovery trusts the receipt's
journalpost id before any of this (`archiving.py`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

TAG_LENGTH = 20  # base32 characters: 100 bits
_DOMAIN = b"sakspost websak filing marker\n"

# A case id is lower-case base32 (schemas/identity.py), the tag too; the pattern takes any
# lower-case letters and digits for the case id, as tests name cases.
MARKER_PATTERN = re.compile(r"\[SP-([a-z0-9]+)-[a-z2-7]+\]")

# What a reader, or a careless matcher, might take for a marker: a square bracket, then "SP" in
# any case, spaced or not, then a dash-like character, another bracket or the end. Meant for the
# NFKC form of a subject (`titles.clean_subject`), so full-width brackets and letters count too.
_LOOKALIKE = re.compile(
    r"\[(\s*s\s*p\s*(?=[-_:.\u2010-\u2015\u2212\[\]]|$)[^\[\]]*)\]?", re.IGNORECASE
)


def marker_tag(case_id: str, key: bytes) -> str:
    digest = hmac.new(key, _DOMAIN + case_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:TAG_LENGTH]


def filing_marker(case_id: str, key: bytes) -> str:
    """The marker of a case's journalpost: `[SP-<case id>-<keyed tag>]`."""
    return f"[SP-{case_id}-{marker_tag(case_id, key)}]"


def holds_marker(title: str, marker: str) -> bool:
    """Whether `title` ends in `marker` as a word of its own, where websak puts it."""
    words = title.split()
    return bool(words) and words[-1] == marker


def neutralise_markers(text: str) -> str:
    """`text` with every marker look-alike in round brackets: "[SP-x-y]" becomes "(SP-x-y)"."""
    return _LOOKALIKE.sub(lambda found: f"({found.group(1)})", text)
