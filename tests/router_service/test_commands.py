"""`sakspost cases` against the router (R11, R12, R17, issue 19): every change by request-reply,
as the signed-in person their token names, clear errors in nynorsk, and the history of who did
what."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from nats.aio.client import Client

from schemas.commands import Verb
from schemas.vocab import MailClass
from services.common.app import ServiceApp
from services.common.settings import Settings
from tests.support.events import event_log
from tests.support.tokens import Issuer, bearer, token_for

from .support import Mailroom, cli, mail

IT = "it@ha.kommune.no"
SUPERVISOR = "jonas.tjelta@ha.kommune.no"  # it's supervisor; Mari Sirevåg is his deputy
DEPUTY = "mari.sirevag@ha.kommune.no"


async def test_assign_classify_show_and_clear_errors(
    router: ServiceApp,
    mailroom: Mailroom,
    settings: Settings,
    issuer: Issuer,
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:  # R11, R12, R17, R8
    boss = token_for(issuer, SUPERVISOR)
    async with event_log(settings) as log, router.running():
        received = await mailroom.receive(IT, mail("Skrivar", to=IT, message_id="c1@x.org"))
        await mailroom.classify(received, MailClass.OFFISIELL)
        ((_, routed),) = await log.wait_for_case(received.case_id, "routed")
        first_key = await mailroom.written(received)
        case = received.case_id
        target = next(s for s in ("mari.sirevag", "jan.inge.ha") if s != routed["assignee"]["id"])

        code, output = await cli(settings, "assign", case, "--to", target, token=boss)
        assert code == 0, output
        assigned = await log.wait_for(
            lambda _s, p: p["case_id"] == case and p["type"] == "routed" and p["policy"] == "manual"
        )
        assert assigned[0][1]["assignee"]["id"] == target
        await mailroom.written(received, previous=first_key)
        assert f"Tildelt: {assigned[0][1]['assignee']['name']}" in await mailroom.categories(
            received
        )

        code, output = await cli(settings, "classify", case, "--as", "arkivverdig", token=boss)
        assert code == 0, output
        ((subject, _alert),) = await log.wait_for_case(case, "alert")
        assert subject == "sakspost.alert.class_changed.it"

        code, output = await cli(settings, "show", case, "--json", token=boss)
        assert code == 0, output
        shown = json.loads(output)["case"]
        assert shown["mail_class"] == "arkivverdig"
        assert [h["what"] for h in shown["history"]] == [
            "received",
            "routed",
            "assigned",
            "reclassified",
        ]
        # Who the token names, not anything the caller wrote.
        assert shown["history"][2]["who"] == "jonas.tjelta"
        assert shown["history"][3]["who"] == "jonas.tjelta"

        code, output = await cli(settings, "show", "nosuchcase", token=boss)
        assert code == 1 and "Ukjend sak: nosuchcase" in output
        code, output = await cli(settings, "assign", case, "--to", "nobody", token=boss)
        assert code == 1 and "Ukjend tilsett: nobody" in output
        code, output = await cli(settings, "assign", case, "--to", "ola.undheim", token=boss)
        assert code == 1 and "ola.undheim er ikkje medlem av it" in output
        code, output = await cli(settings, "list", "--department", "nowhere", token=boss)
        assert code == 1 and "Ukjend avdeling: nowhere" in output
        code, output = await cli(settings, "list", "--department", "it", token="")
        assert code == 1 and "sakspost login" in output

        # A malformed request is answered with its reason, and the router goes on; so is one
        # that still names its actor in the body (before issue 19 anyone could write `by`).
        operator = await connect_as("operator")
        for body in (
            b"{not json",
            json.dumps({"request_id": "r-0000-by", "case_id": case, "by": "mari.sirevag"}).encode(),
        ):
            bad = await operator.request(Verb.DONE.subject, body, timeout=10, headers=bearer(boss))
            reply = json.loads(bad.data)
            assert (reply["ok"], reply["error"]["code"]) == (False, "invalid_request"), reply
        code, output = await cli(settings, "done", case, token=token_for(issuer, DEPUTY))
        assert code == 0, output
        ((_, completed),) = await log.wait_for_case(case, "completed")
    assert completed["via"] == "command"
    assert completed["by"]["id"] == "mari.sirevag"
