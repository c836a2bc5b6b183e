"""Finding 10 of issue #16 through ingest and the Graph emulator, with the real msgraph-sdk: an
opted-in personal Inbox forwards only what is surely official (R9c).

The finding's three mails (a GP appointment, the owner's own sick-pay decision, their tax notice)
stay where they are, without a word to anyone; a clear application is forwarded; a mail the
classifier is unsure of makes a question to the owner alone, and is forwarded only once the owner
gives it the category "Til Sakspost", and only once however often it changes after that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from msgraph.generated.models.message import Message
from nats.js import JetStreamContext

from devtools.graph_emulator import RunningEmulator
from devtools.graph_emulator.store import Change
from schemas.commands import Verb
from services.common.graph import graph_client_for
from services.common.jetstream import INGEST_BUCKET
from services.common.mail import ParsedMail, parse_mail
from services.common.orgconfig import Organisation
from services.common.outgoing import NOTICE_HEADER, original_of
from services.common.seal import SigningKeys, signing_keys
from services.common.settings import Settings
from services.ingest.personal.state import PersonalState, delta_key, mail_key
from tests.ingest.conftest import ingest_settings, running_ingest
from tests.personal.test_misdirected import wait_for_key
from tests.support.commands import ask
from tests.support.connections import Connect
from tests.support.tokens import token_for

MAILBOX = Path(__file__).with_name("mailbox")
OWNER = "elin.tjessem"
PRIVATE = ("p01_gp_appointment.eml", "p02_sick_pay_decision.eml", "p03_tax_notice.eml")
CLEAR, UNSURE, LATER = "o01_application_nn.eml", "o06_tender_en.eml", "o02_complaint_nb.eml"
ASKED = "Er denne e-posten tenestepost?"


@dataclass(frozen=True)
class Arrival:
    mailbox: str
    raw: bytes
    mail: ParsedMail


class Arrivals:
    """Every mail that lands in an Inbox of the emulator, as it lands (the store's own events)."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.seen: list[Arrival] = []
        self._queue: asyncio.Queue[Arrival] = asyncio.Queue()
        emulator.emulator.store.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if change.change_type != "created" or change.folder != "inbox":
            return
        raw = change.mailbox.messages[change.message_id].mime
        self._queue.put_nowait(Arrival(change.mailbox.address, raw, parse_mail(raw)))

    async def first(self, wanted: Callable[[Arrival], bool]) -> Arrival:
        while True:
            arrival = await self._queue.get()
            self.seen.append(arrival)
            if wanted(arrival):
                return arrival


async def marked(js: JetStreamContext, owner: str, graph_id: str, outcome: str) -> None:
    """Until ingest has marked the mail with this outcome (a KV watch)."""
    watcher = await (await js.key_value(INGEST_BUCKET)).watch(mail_key(owner, graph_id))
    try:
        async for entry in watcher:
            if entry is not None and entry.value == outcome.encode():
                return
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it untyped


def forward_of(name: str, org: Organisation, keys: SigningKeys) -> Callable[[Arrival], bool]:
    """A forward wrapper reaching a Sakspost mailbox with this mail attached as the original."""
    original = (MAILBOX / name).read_bytes()
    return lambda a: (
        org.department_for_address(a.mailbox) is not None
        and original_of(a.raw, org, keys, None) == original
    )


async def test_private_mail_stays_clear_mail_moves_and_the_owner_decides_the_rest(
    settings: Settings,
    org: Organisation,
    js: JetStreamContext,
    connect_as: Connect,
    emulator: RunningEmulator,
) -> None:
    owner = org.staff_member(OWNER)
    store = emulator.emulator.store
    mailbox = store.mailbox(owner.email)
    assert mailbox is not None
    arrivals = Arrivals(emulator)
    state = PersonalState(await js.key_value(INGEST_BUCKET))  # admin reads what ingest keeps
    graph = graph_client_for(ingest_settings(settings, emulator), retries=False)
    async with running_ingest(settings, org, emulator):
        # The owner opts in, signed in, as `sakspost personal opt-in` does it: ingest records it.
        cli = await connect_as("operator")
        decided = await ask(
            cli, Verb.PERSONAL_DECIDE, token_for(emulator, owner.email), opted_in=True
        )
        assert decided["ok"] and decided["staff_id"] == owner.id, decided
        # The first round of the Inbox only sets its cursor: mail after it is watched.
        await asyncio.wait_for(wait_for_key(js, delta_key(owner.id, "inbox")), 30)
        ids = {
            name: store.add(mailbox, (MAILBOX / name).read_bytes(), "inbox").id
            for name in (*PRIVATE, CLEAR, UNSURE)
        }

        await asyncio.wait_for(arrivals.first(forward_of(CLEAR, org, signing_keys(settings))), 60)
        question = await asyncio.wait_for(
            arrivals.first(lambda a: a.mailbox == owner.email and a.mail.subject == ASKED), 60
        )
        assert parse_mail((MAILBOX / UNSURE).read_bytes()).subject in question.mail.text
        assert "«Til Sakspost»" in question.mail.text
        await asyncio.wait_for(marked(js, owner.id, ids[UNSURE], "asked"), 30)

        # The owner says it is official, in Outlook: the category on the mail.
        message = graph.users.by_user_id(owner.email).messages.by_message_id(ids[UNSURE])
        await message.patch(Message(categories=["Til Sakspost"]))
        await asyncio.wait_for(arrivals.first(forward_of(UNSURE, org, signing_keys(settings))), 60)
        await asyncio.wait_for(marked(js, owner.id, ids[UNSURE], "forwarded"), 30)

        # Changed again (another category, read): not forwarded twice. A later mail's forward
        # shows the change was judged, since the watch takes changes in their order.
        await message.patch(Message(categories=["Til Sakspost", "Raud"], is_read=True))
        store.add(mailbox, (MAILBOX / LATER).read_bytes(), "inbox")
        await asyncio.wait_for(arrivals.first(forward_of(LATER, org, signing_keys(settings))), 60)
        later = parse_mail((MAILBOX / LATER).read_bytes()).subject
        await asyncio.wait_for(
            arrivals.first(lambda a: bool(a.mail.header(NOTICE_HEADER)) and later in a.mail.text),
            60,
        )
        outcomes = {name: await state.outcome(owner.id, i) for name, i in ids.items()}

    # Three forwards reached Sakspost: the clear mail, the unsure one once, the later one.
    forwards = [a for a in arrivals.seen if org.department_for_address(a.mailbox) is not None]
    assert sorted(
        parse_mail(original_of(a.raw, org, signing_keys(settings), None)).subject for a in forwards
    ) == sorted(
        parse_mail((MAILBOX / name).read_bytes()).subject for name in (CLEAR, UNSURE, LATER)
    )
    # Sakspost's notices went to the owner alone: three forwards told and one question.
    notices = [a for a in arrivals.seen if a.mail.header(NOTICE_HEADER)]
    assert {a.mailbox for a in notices} == {owner.email}
    assert len(notices) == 4
    # The private mail left no trace: no forward, no question, no mark in KV.
    for name in PRIVATE:
        subject = parse_mail((MAILBOX / name).read_bytes()).subject
        assert all(subject not in a.mail.text for a in [*forwards, *notices])
        assert outcomes[name] is None
