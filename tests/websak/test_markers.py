"""The filing marker cannot be forged (issue #16, finding 4): a sender who computes another case's
id, or copies its marker from the public journal, cannot make websak adopt their journalpost."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from schemas.identity import make_case_id
from services.websak.acos import AcosWebSakArchive
from services.websak.config import WebSakPlacement
from services.websak.filing import ensure_journalpost
from services.websak.markers import MARKER_PATTERN, filing_marker, holds_marker
from services.websak.submission import build_submission
from services.websak.titles import journalpost_title
from tests.websak.conftest import MARKER_KEY

MAILBOX = "postmottak.bygg@ha.kommune.no"
VICTIM = make_case_id(MAILBOX, "<soknad-2026-11@innbyggar.example.no>", "graph-victim")
ATTACKER = make_case_id(MAILBOX, "<forged@angripar.example.net>", "graph-attacker")


def _mail(subject: str, message_id: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Innbyggar <innbyggar@example.no>"
    message["To"] = MAILBOX
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content("Vedlagt er søknaden.")
    return message.as_bytes()


def _forgeries(case_id: str) -> list[str]:
    """Every way a sender might write another case's marker into a subject."""
    keyed = filing_marker(case_id, MARKER_KEY)
    tag = keyed.removeprefix(f"[SP-{case_id}-").removesuffix("]")
    return [
        keyed,  # copied from the public journal
        f"[SP-{case_id}]",  # the old, unkeyed form, computable by anyone
        f"[sp-{case_id}-{tag}]",
        f"[ SP - {case_id}-{tag} ]",
        f"[SP–{case_id}-{tag}]",  # an en dash
        f"［ＳＰ－{case_id}-{tag}］",  # full-width brackets and letters
        f"[S\u200bP-{case_id}-{tag}]",  # a zero-width space
    ]


async def test_a_subject_carrying_another_cases_marker_cannot_take_its_journalpost(  # #16 f4
    archive: AcosWebSakArchive, placement: WebSakPlacement
) -> None:
    target = placement.placement("bygg", sensitive=False)
    subject = "Søknad om løyve " + " ".join(_forgeries(VICTIM))
    forged = build_submission(
        _mail(subject, "<forged@angripar.example.net>"),
        case_id=ATTACKER,
        sensitive=False,
        marker_key=MARKER_KEY,
        pdf=b"%PDF",
    )
    assert MARKER_PATTERN.findall(forged.marked_title) == [ATTACKER]
    forged_journalpost = await ensure_journalpost(archive, target, forged)

    own = build_submission(
        _mail("Søknad om løyve", "<soknad-2026-11@innbyggar.example.no>"),
        case_id=VICTIM,
        sensitive=False,
        marker_key=MARKER_KEY,
        pdf=b"%PDF",
    )
    created = await ensure_journalpost(archive, target, own)
    assert created.journalpost_id != forged_journalpost.journalpost_id

    # Crash recovery: websak made the journalpost but never recorded its id; the marker finds it
    # again (and the forger's finds the forger's), so there is no second one.
    assert (await ensure_journalpost(archive, target, own)) == created
    again = await ensure_journalpost(archive, target, forged)
    assert again.journalpost_id == forged_journalpost.journalpost_id


@pytest.mark.parametrize("forgery", _forgeries(VICTIM))
def test_marker_look_alikes_in_a_subject_are_neutralised(forgery: str) -> None:  # #16 f4
    title = journalpost_title(f"Klage {forgery} på vedtak", sensitive=False)
    assert "[" not in title
    assert not holds_marker(f"{title} x", filing_marker(VICTIM, MARKER_KEY))


def test_the_marker_needs_the_key_and_is_found_only_as_the_titles_last_word() -> None:
    marker = filing_marker(VICTIM, MARKER_KEY)
    assert marker != filing_marker(VICTIM, b"another key of the same length, 0123456")
    assert MARKER_PATTERN.findall(marker) == [VICTIM]
    assert holds_marker(f"Søknad om løyve {marker}", marker)
    assert holds_marker(f"Søknad om løyve {marker}  ", marker)
    assert not holds_marker(f"Søknad om {marker} løyve", marker)
    assert not holds_marker(f"Søknad om løyve x{marker}", marker)
    assert not holds_marker(f"Søknad om løyve {marker[:-1]}", marker)
    assert not holds_marker("", marker)
