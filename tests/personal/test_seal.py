"""Issue 16, finding 3: Sakspost's own forwards and notices are recognised by a keyed seal, never
by headers a sender can write (services/common/seal.py, services/common/outgoing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from schemas.events import MailSent
from schemas.vocab import AlertKind, Channel, MailClass, NoticeKind
from services.classifier.outgoing import check_sent
from services.classifier.received import classify_received, default_classifier
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import (
    NOTICE_HEADER,
    Marker,
    forward_mime,
    mark_notice,
    open_received,
    sakspost_marker,
)
from services.common.received import build_received
from services.common.seal import SEAL_HEADER, SigningKeys, signing_keys
from services.common.settings import Settings, SettingsError
from services.ingest.personal.mailroom import owner_notice_mime
from services.ingest.sent import build_sent
from services.ingest.snapshot import MessageSnapshot
from services.notifier.config import Route
from services.notifier.mime import notice_mime
from services.notifier.notice import Message, Notice, Recipient
from tests.personal.conftest import sample

STAFF = "elin.tjessem@ha.kommune.no"
MAILBOX = "post@ha.kommune.no"
NOW = datetime(2026, 9, 7, 10, 0, tzinfo=UTC)
IDENTITY_NUMBER = "13097248022"


def fake_original() -> bytes:
    """The mail an attacker wants archived as if the county governor had sent it."""
    return (
        "From: Statsforvaltaren i Rogaland <sfropost@statsforvalteren.no>\r\n"
        f"To: {MAILBOX}\r\nSubject: Pålegg om retting, frist i dag\r\n"
        "Date: Mon, 07 Sep 2026 09:00:00 +0200\r\nMessage-ID: <chosen-by-the-sender@sf.no>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBetal no.\r\n"
    ).encode()


def test_a_forged_forward_is_received_with_its_real_sender(
    org: Organisation, keys: SigningKeys
) -> None:
    # The finding: a staff From and X-Sakspost-Forwarded-By, both the sender's choice, made the
    # attached "original" the case. Without Sakspost's seal the wrapper is the mail.
    forged = forward_mime(fake_original(), "Elin", STAFF, MAILBOX, "VS", "x", NOW, keys)
    unsealed = b"".join(
        line
        for line in forged.splitlines(keepends=True)
        if not line.startswith(SEAL_HEADER.encode())
    )
    other_key = SigningKeys(b"an-attacker-guessing-a-key-0123456789")
    sealed_elsewhere = forward_mime(
        fake_original(), "Elin", STAFF, MAILBOX, "VS", "x", NOW, other_key
    )
    for wrapper in (unsealed, sealed_elsewhere):
        assert open_received(wrapper, org, keys, NOW).marker is Marker.FORGED
        event = build_received(org, MAILBOX, wrapper, "graph-forged", NOW, keys=keys)
        assert event.sender is not None and event.sender.address == STAFF
        assert event.internet_message_id != "chosen-by-the-sender@sf.no"
        assert "Statsforvaltaren" not in (event.sender.name or "")


def test_a_genuine_forward_is_opened_and_a_tampered_one_is_not(
    org: Organisation, keys: SigningKeys
) -> None:
    original = sample("0020.eml", to=STAFF)
    wrapper = forward_mime(original, "Elin Tjessem", STAFF, MAILBOX, "VS", "x", NOW, keys)
    assert open_received(wrapper, org, keys, NOW + timedelta(minutes=3)).mail == original
    # Another original under the same seal, or the same seal on an outsider's wrapper.
    swapped = wrapper.replace(original, fake_original())
    assert open_received(swapped, org, keys, NOW).marker is Marker.FORGED
    outsider = wrapper.replace(STAFF.encode(), b"mallory@evil.example")
    assert open_received(outsider, org, keys, NOW).marker is Marker.FORGED
    # A seal is good for a day from when it was made: an old forward sent again is not opened.
    assert open_received(wrapper, org, keys, NOW + timedelta(days=2)).marker is Marker.FORGED


def test_a_seal_made_with_the_previous_key_verifies_during_a_rotation(org: Organisation) -> None:
    old = SigningKeys(b"the-key-before-the-rotation-0123456789")
    rotated = SigningKeys(b"the-key-after-the-rotation-01234567890", previous=old.current)
    original = sample("0020.eml", to=STAFF)
    wrapper = forward_mime(original, "Elin Tjessem", STAFF, MAILBOX, "VS", "x", NOW, old)
    assert open_received(wrapper, org, rotated, NOW).mail == original
    assert open_received(wrapper, org, SigningKeys(rotated.current), NOW).marker is Marker.FORGED


def notice(sender: str, subject: str, body: str, keys: SigningKeys | None) -> bytes:
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = sender
    mail["To"] = "sakshandsamar@ha.kommune.no"
    mail["Subject"] = subject
    mail["Message-ID"] = "<n-1.notice@ha.kommune.no>"
    if keys is None:
        mail[NOTICE_HEADER] = "n-1"
    else:
        mark_notice(mail, "n-1", keys, NOW)
    mail.set_content(body)
    return mail.as_bytes()


def _sent(raw: bytes, org: Organisation, keys: SigningKeys) -> MailSent | None:
    snapshot = MessageSnapshot("graph-sent", None, None, "conv-1", NOW, None, [], None, False)
    return build_sent(org, keys, "post", MAILBOX, raw, snapshot)


def test_a_forged_notice_is_checked_like_any_sent_mail(
    org: Organisation, keys: SigningKeys
) -> None:
    sensitive = f"Fødselsnummeret ditt er {IDENTITY_NUMBER}."
    genuine = notice(MAILBOX, "Varsel", "Ny sak.", keys)
    assert sakspost_marker(genuine, org, keys, NOW) is Marker.SEALED
    assert _sent(genuine, org, keys) is None  # Sakspost's own: never a `sent` event
    forged = notice(MAILBOX, "Svar", sensitive, None)
    # The seal of the genuine notice copied onto another mail vouches for nothing.
    seal = parse_mail(genuine).headers[SEAL_HEADER.lower()][0]
    copied = notice(MAILBOX, "Svar", sensitive, None).replace(
        b"MIME-Version", f"{SEAL_HEADER}: {seal}\r\nMIME-Version".encode(), 1
    )
    for raw in (forged, copied):
        event = _sent(raw, org, keys)
        assert event is not None
        alerts = check_sent(event, raw, org, keys, MailClass.OFFISIELL, default_classifier(), NOW)
        assert sorted(a.kind for a in alerts) == sorted(
            [AlertKind.SENSITIVE_OUTGOING, AlertKind.FORGED_MARKER]
        )
        assert all(IDENTITY_NUMBER not in a.model_dump_json() for a in alerts)


def test_a_service_without_a_signing_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SAKSPOST_SIGNING_KEY"):
        signing_keys(Settings(nats_credentials_dir=tmp_path / "none"))
    with pytest.raises(SettingsError, match="shorter"):
        signing_keys(Settings(signing_key="short"))
    keys = signing_keys(Settings(signing_key="k" * 40, signing_key_previous="p" * 40))
    assert keys.previous == b"p" * 40


def test_a_hostile_marker_is_forged_never_an_exception(
    org: Organisation, keys: SigningKeys
) -> None:
    # Parsing fails open elsewhere (finding 8); here a header that breaks the parser only means
    # the mail is not Sakspost's.
    bomb = (
        f"From: {MAILBOX}\r\nTo: {'(' * 5000}\r\n{NOTICE_HEADER}: x\r\n"
        f"{SEAL_HEADER}: v1; t=1; s={'0' * 64}\r\n\r\nbody\r\n"
    ).encode()
    assert sakspost_marker(bomb, org, keys, NOW) is Marker.FORGED
    wrapper = (
        f"From: {STAFF}\r\nX-Sakspost-Forwarded-By: {'(' * 5000}\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n'
    ).encode()
    assert open_received(wrapper, org, keys, NOW).marker is Marker.FORGED


def test_a_key_from_a_file_with_a_newline_is_the_same_key() -> None:
    assert signing_keys(Settings(signing_key="k" * 40 + "\n")) == signing_keys(
        Settings(signing_key="k" * 40)
    )


def test_sakspost_s_own_notices_are_sealed(org: Organisation, keys: SigningKeys) -> None:
    member = org.staff[0]
    notice = Notice(
        notice_id="n-2",
        kind=NoticeKind.ASSIGNED,
        department="post",
        case_id="case0000000000000001",
        about="assigned",
        recipient=Recipient.of(member),
        # A long non-ASCII title: encoded and folded on the way, the seal still holds.
        message=Message(title="Tildelt: søknad om løyve til å byggje på ein svært lang tomt " * 2),
        route=Route(channel=Channel.EMAIL),
    )
    raw = notice_mime(notice, org.no_reply_address, "Hå kommune – Sakspost", keys, NOW)
    assert sakspost_marker(raw, org, keys, NOW) is Marker.SEALED
    owner = owner_notice_mime(org, keys, member, "Vidaresendt", "Tekst.", b"about", NOW)
    assert sakspost_marker(owner, org, keys, NOW) is Marker.SEALED


def test_the_classifier_opens_only_a_sealed_forward(org: Organisation, keys: SigningKeys) -> None:
    original = sample("0020.eml", to=STAFF)
    sealed = forward_mime(original, "Elin Tjessem", STAFF, MAILBOX, "VS", "x", NOW, keys)
    forged = forward_mime(
        original, "Elin Tjessem", STAFF, MAILBOX, "VS", "x", NOW, SigningKeys(b"x" * 40)
    )
    engine = default_classifier()
    for wrapper, judged in ((sealed, original), (forged, forged)):
        event = build_received(org, MAILBOX, wrapper, "graph-1", NOW, keys=keys)
        classified = classify_received(event, wrapper, org, keys, None, engine)
        expected = engine.classify(parse_mail(judged), MAILBOX, org)
        assert (classified.mail_class, classified.topics) == (
            expected.mail_class,
            list(expected.topics),
        )
