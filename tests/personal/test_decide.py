"""Issue 19: a personal mailbox is opted in or out by its owner alone, signed in
(`sakspost.cmd.personal_decide`, answered by ingest). The decision records the owner and when; a
repeated request is the same decision; nobody else, not an operator, decides for anyone."""

from __future__ import annotations

import asyncio
import sys

from nats.js import JetStreamContext
from structlog.testing import capture_logs

from devtools.graph_emulator import RunningEmulator
from schemas.commands import Verb
from services.common.jetstream import INGEST_BUCKET
from services.common.orgconfig import Operator, Organisation
from services.common.settings import REPO_ROOT, Settings
from services.ingest.personal.state import PersonalState
from tests.ingest.conftest import running_ingest
from tests.support.commands import ask
from tests.support.connections import Connect
from tests.support.environment import nats_environment
from tests.support.tokens import operator_token, token_for

OWNER = "elin.tjessem"
OPERATOR_APP = "0d1e2f3a-0000-4000-8000-00000000d41f"


async def _personal(settings: Settings, token: str, *args: str) -> tuple[int, str]:
    """`sakspost personal …` in its own process, signed in with `token`."""
    env = nats_environment(settings, SAKSPOST_LANGUAGE="nn", SAKSPOST_TOKEN=token)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sakspost", "personal", *args,
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_the_owner_decides_alone_and_is_recorded(
    settings: Settings,
    org: Organisation,
    js: JetStreamContext,
    connect_as: Connect,
    emulator: RunningEmulator,
) -> None:
    org = org.model_copy(
        update={"operators": [Operator(id="drift", name="Drift", app_id=OPERATOR_APP)]}
    )
    owner = org.staff_member(OWNER)
    state = PersonalState(await js.key_value(INGEST_BUCKET))  # admin reads what ingest keeps
    mine = token_for(emulator, owner.email)
    cli = await connect_as("operator")
    async with running_ingest(settings, org, emulator):
        code, output = await _personal(settings, mine, "opt-in")
        assert code == 0 and "Elin Tjessem har sagt ja" in output, output
        opted_in = await state.decision(owner.id)
        assert opted_in is not None and (opted_in.opted_in, opted_in.by) == (True, owner.id)

        first = await ask(
            cli, Verb.PERSONAL_DECIDE, mine, request_id="req-optout-1", opted_in=False
        )
        again = await ask(
            cli, Verb.PERSONAL_DECIDE, mine, request_id="req-optout-1", opted_in=False
        )
        assert first["ok"] and first["opted_in"] is False and again["at"] == first["at"]
        recorded = await state.decision(owner.id)
        assert recorded is not None and (recorded.opted_in, recorded.by) == (False, owner.id)

        with capture_logs() as logs:
            anonymous = await ask(cli, Verb.PERSONAL_DECIDE, None, opted_in=True)
            operator = await ask(
                cli, Verb.PERSONAL_DECIDE, operator_token(emulator, OPERATOR_APP), opted_in=True
            )
            # Naming whom it is for is not part of the request.
            for_another = await ask(
                cli, Verb.PERSONAL_DECIDE, mine, opted_in=True, staff_id="kari.nordmann"
            )
        code, output = await _personal(settings, "", "opt-in")
    assert code == 1 and "sakspost login" in output
    assert [r["error"]["code"] for r in (anonymous, operator, for_another)] == [
        "unauthenticated",
        "forbidden",
        "invalid_request",
    ]
    refused = [(e["reason"], e["claimed"]) for e in logs if e["event"] == "command refused"]
    assert refused == [("missing", None), ("forbidden", "drift")]
    assert await state.decision(owner.id) == recorded
