"""The ACOS adapter end to end against the stand-in over HTTP (R9a, R3)."""

from __future__ import annotations

import asyncio
import hashlib
import io
from typing import Any

import httpx
import pikepdf
import pytest

from schemas.vocab import DocumentRole
from services.common.mail import parse_mail
from services.common.settings import REPO_ROOT
from services.websak.acos import AcosWebSakArchive
from services.websak.archive import PermanentArchiveError
from services.websak.config import Placement, WebSakPlacement
from services.websak.filing import (
    Submission,
    ensure_journalpost,
    ensure_sender,
    file_journalpost,
)
from services.websak.render import render_mail_pdf
from services.websak.submission import build_submission
from services.websak.titles import SCREENED_SUFFIX
from tests.websak.conftest import MARKER_KEY
from tests.websak.contract import ContractRecorder

SAMPLES = REPO_ROOT / "samples"
# 0020: bygg, not sensitive, two attachments (PDF and DOCX). 0010: helse, sensitive, no attachment.
ORDINARY_SAMPLE = "0020.eml"
SENSITIVE_SAMPLE = "0010.eml"


async def _state(admin: httpx.AsyncClient) -> dict[str, Any]:
    response = await admin.get("/_standin/state")
    response.raise_for_status()
    state: dict[str, Any] = response.json()
    return state


async def _file(admin: httpx.AsyncClient, fil_id: int) -> bytes:
    response = await admin.get(f"/_standin/files/{fil_id}")
    response.raise_for_status()
    return response.content


def _submission(name: str, case_id: str, *, sensitive: bool) -> tuple[bytes, Submission]:
    raw = (SAMPLES / name).read_bytes()
    pdf = render_mail_pdf(raw, sensitive=sensitive)
    return raw, build_submission(
        raw, case_id=case_id, sensitive=sensitive, marker_key=MARKER_KEY, pdf=pdf
    )


async def test_arkivverdig_sample_becomes_one_complete_journalpost(  # R9a
    archive: AcosWebSakArchive,
    admin: httpx.AsyncClient,
    recorder: ContractRecorder,
    placement: WebSakPlacement,
) -> None:
    raw, submission = await asyncio.to_thread(
        _submission, ORDINARY_SAMPLE, "casebygg0020", sensitive=False
    )
    mail = parse_mail(raw)
    target = placement.placement("bygg", sensitive=False)

    filed = await file_journalpost(archive, target, submission)

    state = await _state(admin)
    journalposts = [jp for jp in state["journalposter"].values() if jp["sakId"] == 1051]
    assert len(journalposts) == 1
    journalpost = journalposts[0]
    assert submission.marker in journalpost["tittel1"]
    assert filed.journalpost_id == str(journalpost["id"])
    assert filed.registry_number == journalpost["visningId"]
    assert filed.case_ref == "1051"

    documents = [d for d in state["dokumenter"].values() if d["parentJp"] == journalpost["id"]]
    by_name = {d["navn"]: d for d in documents}
    assert len(documents) == 2 + len(mail.attachments)
    main = [d for d in documents if d["dokumentType"] == "Hoveddokument"]
    assert [d["navn"] for d in main] == ["E-post.pdf"]

    pdf = await _file(admin, main[0]["aktivFilId"])
    with pikepdf.open(io.BytesIO(pdf)) as document:
        metadata = document.open_metadata()
        assert metadata.get("pdfaid:part") == "2"
        assert metadata.get("pdfaid:conformance") == "B"

    original = await _file(admin, by_name["E-post (original).eml"]["aktivFilId"])
    assert hashlib.sha256(original).hexdigest() == hashlib.sha256(raw).hexdigest()
    for attachment in mail.attachments:
        assert attachment.filename is not None
        stored = await _file(admin, by_name[attachment.filename]["aktivFilId"])
        assert hashlib.sha256(stored).hexdigest() == attachment.sha256

    contacts = [k for k in state["kontakter"].values() if k["_jp"] == journalpost["id"]]
    assert mail.sender is not None
    assert [(k["epost"], k["erKopiMottaker"]) for k in contacts] == [(mail.sender.address, False)]
    assert {d.role for d in filed.documents} == set(DocumentRole)

    assert recorder.validate() >= 7


async def test_filing_again_finds_the_same_journalpost(  # R9a exactly once
    archive: AcosWebSakArchive, admin: httpx.AsyncClient, placement: WebSakPlacement
) -> None:
    _, submission = await asyncio.to_thread(
        _submission, ORDINARY_SAMPLE, "casetwice", sensitive=False
    )
    target = placement.placement("bygg", sensitive=False)
    first = await file_journalpost(archive, target, submission)
    second = await file_journalpost(archive, target, submission)

    state = await _state(admin)
    assert first.journalpost_id == second.journalpost_id
    assert len(state["journalposter"]) == 1
    assert len(state["dokumenter"]) == len(submission.documents)
    assert len(state["kontakter"]) == 1


@pytest.mark.parametrize("stop_after", ["create", "sender", "main", "original"])
async def test_filing_resumes_after_an_interrupted_step(  # R9a exactly once
    stop_after: str,
    archive: AcosWebSakArchive,
    admin: httpx.AsyncClient,
    placement: WebSakPlacement,
) -> None:
    _, submission = await asyncio.to_thread(
        _submission, ORDINARY_SAMPLE, f"resume{stop_after}", sensitive=False
    )
    target = placement.placement("bygg", sensitive=False)
    journalpost = await ensure_journalpost(archive, target, submission)
    if stop_after != "create":
        await ensure_sender(archive, journalpost, submission)
    uploads = {"create": 0, "sender": 0, "main": 1, "original": 2}[stop_after]
    for document in submission.documents[:uploads]:
        await archive.upload(journalpost, document)

    filed = await file_journalpost(archive, target, submission)

    state = await _state(admin)
    assert list(state["journalposter"]) == [filed.journalpost_id]
    names = sorted(d["navn"] for d in state["dokumenter"].values())
    assert names == sorted(d.filename for d in submission.documents)
    assert len(state["kontakter"]) == 1


async def test_sensitive_mail_goes_to_the_screened_case_with_a_neutral_title(  # R3
    archive: AcosWebSakArchive, admin: httpx.AsyncClient, placement: WebSakPlacement
) -> None:
    raw, submission = await asyncio.to_thread(
        _submission, SENSITIVE_SAMPLE, "casesensitive", sensitive=True
    )
    target = placement.placement("helse", sensitive=True)
    filed = await file_journalpost(archive, target, submission)

    state = await _state(admin)
    journalpost = state["journalposter"][filed.journalpost_id]
    case = state["saker"][str(journalpost["sakId"])]
    assert case["screening"] == placement.screening_code
    title = journalpost["tittel1"].lower()
    assert SCREENED_SUFFIX in title
    for word in ("bekymring", "unntatt", "offentlighet"):
        assert word in parse_mail(raw).subject.lower()
        assert word not in title


async def test_unknown_case_and_template_are_permanent_refusals(
    archive: AcosWebSakArchive, placement: WebSakPlacement
) -> None:
    with pytest.raises(PermanentArchiveError) as no_case:
        await archive.create_journalpost(Placement("999999", "900001"), "x")
    assert no_case.value.status == 404
    with pytest.raises(PermanentArchiveError) as no_template:
        await archive.create_journalpost(Placement("1051", "12345"), "x")
    assert no_template.value.status == 400
    assert not no_template.value.retryable
