"""The marks of what the personal watch did with a mail (forwarded, asked) live in ingest's KV
under ingest's own permissions, and opting out forgets them with every cursor of that person."""

from __future__ import annotations

from services.common.jetstream import INGEST_BUCKET
from services.ingest.personal.state import PersonalState
from tests.support.connections import Connect

# A Graph id as Graph writes it (not a KV token: stored by its digest) and a plain one.
GRAPH_ID = "AAMkAGI2TG93AAA=/+x"


async def test_marks_are_kept_per_mail_and_forgotten_with_their_owner(connect_as: Connect) -> None:
    ingest = await connect_as("ingest")
    state = PersonalState(await ingest.jetstream().key_value(INGEST_BUCKET))
    await state.record_outcome("elin.tjessem", GRAPH_ID, "asked")
    await state.record_outcome("elin.tjessem", "plain-id", "asked")
    await state.record_outcome("elin.tjessem", "plain-id", "forwarded")
    await state.record_outcome("kristian.eik", GRAPH_ID, "forwarded")
    assert await state.outcome("elin.tjessem", GRAPH_ID) == "asked"
    assert await state.outcome("elin.tjessem", "plain-id") == "forwarded"
    assert await state.outcome("elin.tjessem", "never-seen") is None

    await state.forget("elin.tjessem")
    assert await state.outcome("elin.tjessem", GRAPH_ID) is None
    assert await state.outcome("elin.tjessem", "plain-id") is None
    assert await state.outcome("kristian.eik", GRAPH_ID) == "forwarded"
    await state.forget("elin.tjessem")  # nothing left to forget is no error
