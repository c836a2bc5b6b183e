"""Sample mail for load: the labelled corpus, each copy made a new mail by its own Message-ID.

A case is one Message-ID in one mailbox, so N deliveries of the same sample would be one case;
giving every copy a fresh Message-ID (and nothing else changed) makes N cases with the sample's
class, department and content.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.received import official_recipient

_MESSAGE_ID = re.compile(rb"^message-id:.*?(?=^\S|\Z)", re.IGNORECASE | re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Sample:
    name: str
    raw: bytes
    mailbox: str
    mail_class: str


@dataclass(frozen=True)
class Mail:
    message_id: str
    raw: bytes
    mailbox: str
    mail_class: str


def shared_samples(
    samples: Path, org: Organisation, classes: set[str] | None = None
) -> list[Sample]:
    """Every labelled sample sent to an official (shared) address, optionally of some classes."""
    chosen = []
    for line in (samples / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label["mailbox_kind"] != "shared" or (classes and label["class"] not in classes):
            continue
        raw = (samples / label["file"]).read_bytes()
        mailbox = official_recipient(parse_mail(raw), org)
        if mailbox is not None:
            chosen.append(Sample(label["file"], raw, mailbox, label["class"]))
    if not chosen:
        raise ValueError(f"{samples}: no shared-mailbox sample of classes {classes}")
    return chosen


def with_message_id(raw: bytes, message_id: str) -> bytes:
    """The mail with its Message-ID header (folded or not, or missing) replaced by `message_id`."""
    head, separator, body = raw.partition(b"\r\n\r\n")
    newline = b"\r\n"
    if not separator:
        head, separator, body = raw.partition(b"\n\n")
        newline = b"\n"
    head = _MESSAGE_ID.sub(b"", head + newline).rstrip(b"\r\n")
    return b"Message-ID: <" + message_id.encode() + b">" + newline + head + separator + body


def _copy(sample: Sample, number: int, run_id: str) -> Mail:
    message_id = f"load-{run_id}-{number}@sakspost.invalid"
    raw = with_message_id(sample.raw, message_id)
    return Mail(message_id, raw, sample.mailbox, sample.mail_class)


def copies(samples: list[Sample], count: int, run_id: str) -> list[Mail]:
    """`count` new mails cycling through `samples`, each with a Message-ID unique to this run."""
    return [_copy(samples[number % len(samples)], number, run_id) for number in range(count)]


def spread(samples: list[Sample], count: int, run_id: str) -> list[Mail]:
    """`count` new mails taking turns between the samples' mailboxes, so every mailbox gets an
    equal share in an even rhythm (Graph's limits are per mailbox), each mailbox cycling through
    its own samples."""
    by_mailbox: dict[str, list[Sample]] = {}
    for sample in samples:
        by_mailbox.setdefault(sample.mailbox, []).append(sample)
    boxes = sorted(by_mailbox)
    mails = []
    for number in range(count):
        own = by_mailbox[boxes[number % len(boxes)]]
        mails.append(_copy(own[(number // len(boxes)) % len(own)], number, run_id))
    return mails
