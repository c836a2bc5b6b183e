"""Helpers of the websak service tests: `routed` events from the samples, the stand-in's archive,
and the check that a case became one complete journalpost (R9a)."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pikepdf

from schemas.events import MailReceived, MailRouted
from schemas.identity import make_event_id
from schemas.vocab import AssignmentPolicy, MailClass, SensitiveKind
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.received import build_received
from services.websak.markers import filing_marker, holds_marker
from tests.conftest import SAMPLES
from tests.support.publishing import EventInjector
from tests.support.signing import TEST_KEYS
from tests.websak.pdftext import extract_text
from tests.websak_service.conftest import MARKER_KEY

RECEIVED_AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def labels(mail_class: str | None = None) -> list[dict[str, Any]]:
    """The labels of the samples delivered to a shared mailbox, of one class if given."""
    found = []
    for line in (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label["mailbox_kind"] == "shared" and mail_class in (None, label["class"]):
            found.append(label)
    return found


def label_of(file: str) -> dict[str, Any]:
    return next(label for label in labels() if label["file"] == file)


@dataclass(frozen=True)
class Delivered:
    raw: bytes
    received: MailReceived
    routed: MailRouted

    @property
    def case_id(self) -> str:
        return self.received.case_id


async def deliver(
    stages: EventInjector,
    org: Organisation,
    label: dict[str, Any],
    *,
    conversation_id: str | None = None,
    routing: str = "first",
) -> Delivered:
    """Store the sample's MIME as ingest does, then build its `received` and `routed` events as
    the stages do.

    `routing` tells apart several `routed` events of one case (a reassignment is a new one).
    """
    raw = (SAMPLES / label["file"]).read_bytes()
    await stages.store_mime(raw)
    mailbox = org.departments[label["department"]].addresses[0]
    received = build_received(
        org,
        mailbox,
        raw,
        f"graph-{label['file']}",
        RECEIVED_AT,
        conversation_id=conversation_id,
        keys=TEST_KEYS,
    )
    routed = MailRouted(
        event_id=make_event_id("routed", received.case_id, routing),
        case_id=received.case_id,
        occurred_at=RECEIVED_AT,
        department=received.department,
        mail_class=MailClass(label["class"]),
        assignee=None,
        policy=AssignmentPolicy.UNASSIGNED,
        mailbox=received.mailbox,
        graph_message_id=received.graph_message_id,
        mime_sha256=received.mime_sha256,
        subject=received.subject,
        sender=received.sender,
        sensitive=[SensitiveKind(kind) for kind in label["sensitive"]],
        conversation_id=conversation_id,
    )
    return Delivered(raw, received, routed)


async def publish(stages: EventInjector, event: MailRouted) -> None:
    """Publish `routed` as the router does."""
    await stages.event(event)


async def archive_state(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        response = await client.get("/_standin/state")
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state


def journalposts_of(state: dict[str, Any], case_id: str) -> list[dict[str, Any]]:
    marker = filing_marker(case_id, MARKER_KEY.key)
    return [jp for jp in state["journalposter"].values() if holds_marker(jp["tittel1"], marker)]


def assert_pdfa_with_text(pdf_bytes: bytes, expected_text: list[str]) -> None:
    """PDF/A-2b identification, an output intent, embedded fonts and extractable text."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        metadata = pdf.open_metadata()
        assert metadata.get("pdfaid:part") == "2"
        assert metadata.get("pdfaid:conformance") == "B"
        intents = pdf.Root.OutputIntents
        assert len(intents) == 1 and "/DestOutputProfile" in intents[0]
        fonts = [font for page in pdf.pages for font in page.Resources.Font.values()]
        assert fonts
        for font in fonts:
            descriptor = font.DescendantFonts[0].FontDescriptor
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        text = extract_text(pdf).replace(" ", "")
    for expected in expected_text:
        assert expected.replace(" ", "") in text


async def assert_one_complete_journalpost(
    url: str, delivered: Delivered, archived: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Exactly one journalpost for the case, with every document and the sender (R9a)."""
    state = await archive_state(url)
    (journalpost,) = journalposts_of(state, delivered.case_id)
    mail = parse_mail(delivered.raw)
    documents = [d for d in state["dokumenter"].values() if d["parentJp"] == journalpost["id"]]
    assert len(documents) == 2 + len(mail.attachments)
    stored: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for document in documents:
            content = (await client.get(f"/_standin/files/{document['aktivFilId']}")).content
            stored[document["navn"]] = hashlib.sha256(content).hexdigest()
            if document["dokumentType"] == "Hoveddokument":
                assert document["navn"] == "E-post.pdf"
                first_line = next(
                    (line for line in mail.text.splitlines() if len(line.strip()) > 10), ""
                )
                assert_pdfa_with_text(content, [mail.subject, first_line])
    assert stored["E-post (original).eml"] == delivered.received.mime_sha256
    assert sorted(a.sha256 for a in mail.attachments) == sorted(
        sha for name, sha in stored.items() if name not in ("E-post.pdf", "E-post (original).eml")
    )
    contacts = [k for k in state["kontakter"].values() if k["_jp"] == journalpost["id"]]
    assert mail.sender is not None
    assert [(k["epost"], k["erKopiMottaker"]) for k in contacts] == [(mail.sender.address, False)]
    if archived is not None:
        assert archived["journalpost_id"] == str(journalpost["id"])
        assert archived["registry_number"] == journalpost["visningId"]
        assert archived["archive_case_id"] == str(journalpost["sakId"])
        reported = {d["filename"]: d["sha256"] for d in archived["documents"]}
        assert reported == stored
        originals = [d for d in archived["documents"] if d["role"] == "original"]
        assert [d["sha256"] for d in originals] == [delivered.received.mime_sha256]
    return journalpost
