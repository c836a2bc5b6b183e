"""A mail a colleague moved from a personal mailbox (R9c) is archived as the citizen's original.

The journalpost's PDF, sender, title and attachments are the original's; `E-post (original).eml`
is the original byte for byte, and the forward as Graph delivered it (`received.mime_sha256`) is
kept beside it as `E-post (vidaresending).eml` (R9a).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx

from devtools.websak_standin import RunningStandIn
from schemas.events import MailRouted
from schemas.identity import make_event_id
from schemas.vocab import AssignmentPolicy, MailClass
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import forward_mime
from services.common.received import build_received
from services.common.seal import signing_keys
from services.common.settings import Settings
from services.websak.submission import ORIGINAL_FILENAME, WRAPPER_FILENAME
from tests.conftest import SAMPLES
from tests.support.events import event_log
from tests.support.publishing import EventInjector
from tests.websak_service.conftest import ServiceFactory
from tests.websak_service.support import (
    RECEIVED_AT,
    archive_state,
    assert_pdfa_with_text,
    journalposts_of,
    labels,
    publish,
)


async def test_a_forward_is_archived_as_its_original(  # R9c, R9a
    injector: EventInjector,
    org: Organisation,
    settings: Settings,
    standin: RunningStandIn,
    websak: ServiceFactory,
) -> None:
    label = next(
        x
        for x in labels("arkivverdig")
        if not x["sensitive"] and parse_mail((SAMPLES / x["file"]).read_bytes()).attachments
    )
    original = (SAMPLES / label["file"]).read_bytes()
    citizen = parse_mail(original)
    assert citizen.sender is not None
    colleague = org.staff[0]
    mailbox = org.departments[label["department"]].addresses[0]
    # Sealed with the stack's key, as the personal mailroom seals it.
    keys = signing_keys(settings)
    wrapper = forward_mime(
        original,
        colleague.name,
        colleague.email,
        mailbox,
        "VS: vidaresendt",
        "Feilsendt til meg.",
        datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        keys,
    )
    await injector.store_mime(wrapper)
    received = build_received(org, mailbox, wrapper, "graph-forward", RECEIVED_AT, keys=keys)
    routed = MailRouted(
        event_id=make_event_id("routed", received.case_id),
        case_id=received.case_id,
        occurred_at=RECEIVED_AT,
        department=received.department,
        mail_class=MailClass.ARKIVVERDIG,
        assignee=None,
        policy=AssignmentPolicy.UNASSIGNED,
        mailbox=received.mailbox,
        mime_sha256=received.mime_sha256,
    )
    async with event_log(settings, "sakspost.mail.archived.>") as log, websak().running():
        await publish(injector, routed)
        ((_, archived),) = await log.wait_for_case(received.case_id, "archived", timeout=30)

    state = await archive_state(standin.url)
    (journalpost,) = journalposts_of(state, received.case_id)
    assert journalpost["_journalposttype"] == "I"
    stored: dict[str, bytes] = {}
    async with httpx.AsyncClient(base_url=standin.url, timeout=10) as client:
        for document in state["dokumenter"].values():
            if document["parentJp"] == journalpost["id"]:
                file = await client.get(f"/_standin/files/{document['aktivFilId']}")
                stored[document["navn"]] = file.content
    assert stored[ORIGINAL_FILENAME] == original
    assert hashlib.sha256(stored[WRAPPER_FILENAME]).hexdigest() == received.mime_sha256
    assert sorted(
        hashlib.sha256(stored[a.filename or ""]).hexdigest() for a in citizen.attachments
    ) == sorted(a.sha256 for a in citizen.attachments)
    assert_pdfa_with_text(stored["E-post.pdf"], [citizen.subject])
    assert citizen.subject in journalpost["tittel1"]
    contacts = [k["epost"] for k in state["kontakter"].values() if k["_jp"] == journalpost["id"]]
    assert contacts == [citizen.sender.address]  # the citizen, not the colleague
    documents = {d["filename"]: d for d in archived["documents"]}
    assert documents[ORIGINAL_FILENAME]["role"] == "original"
    assert documents[ORIGINAL_FILENAME]["sha256"] == hashlib.sha256(original).hexdigest()
    assert documents[WRAPPER_FILENAME]["sha256"] == received.mime_sha256
