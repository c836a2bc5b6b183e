"""`sakspost cases` against the router (R11, R12, R17): every change by request-reply, clear errors
in nynorsk, and the history of who did what."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from nats.aio.client import Client

from schemas.commands import Verb
from schemas.vocab import MailClass
from services.common.app import ServiceApp
from services.common.settings import Settings
from tests.support.events import event_log

from .support import Mailroom, cli, mail

IT = "it@ha.kommune.no"


async def test_assign_classify_show_and_clear_errors(
    router: ServiceApp,
    mailroom: Mailroom,
    settings: Settings,
    connect_as: Callable[[str], Awaitable[Client]],
) -> None:  # R11, R12, R17, R8
    async with event_log(settings) as log, router.running():
        received = await mailroom.receive(IT, mail("Skrivar", to=IT, message_id="c1@x.org"))
        await mailroom.classify(received, MailClass.OFFISIELL)
        ((_, routed),) = await log.wait_for_case(received.case_id, "routed")
        first_key = await mailroom.written(received)
        case = received.case_id
        target = next(s for s in ("mari.sirevag", "jan.inge.ha") if s != routed["assignee"]["id"])

        code, output = await cli(settings, "assign", case, "--to", target, "--by", "jonas.tjelta")
        assert code == 0, output
        assigned = await log.wait_for(
            lambda _s, p: p["case_id"] == case and p["type"] == "routed" and p["policy"] == "manual"
        )
        assert assigned[0][1]["assignee"]["id"] == target
        await mailroom.written(received, previous=first_key)
        assert f"Tildelt: {assigned[0][1]['assignee']['name']}" in await mailroom.categories(
            received
        )

        code, output = await cli(
            settings, "classify", case, "--as", "arkivverdig", "--by", "jonas.tjelta"
        )
        assert code == 0, output
        ((subject, _alert),) = await log.wait_for_case(case, "alert")
        assert subject == "sakspost.alert.class_changed.it"

        code, output = await cli(settings, "show", case, "--json")
        assert code == 0, output
        shown = json.loads(output)["case"]
        assert shown["mail_class"] == "arkivverdig"
        assert [h["what"] for h in shown["history"]] == [
            "received",
            "routed",
            "assigned",
            "reclassified",
        ]
        assert shown["history"][2]["who"] == "jonas.tjelta"

        code, output = await cli(settings, "show", "nosuchcase")
        assert code == 1 and "Ukjend sak: nosuchcase" in output
        code, output = await cli(settings, "assign", case, "--to", "nobody")
        assert code == 1 and "Ukjend tilsett: nobody" in output
        code, output = await cli(settings, "assign", case, "--to", "ola.undheim")
        assert code == 1 and "ola.undheim er ikkje medlem av it" in output
        code, output = await cli(settings, "list", "--department", "nowhere")
        assert code == 1 and "Ukjend avdeling: nowhere" in output
        # A malformed request is answered with its reason, and the router goes on. Commands are
        # the operator's to send.
        operator = await connect_as("operator")
        bad = await operator.request(Verb.DONE.subject, b"{not json", timeout=10)
        reply = json.loads(bad.data)
        assert (reply["ok"], reply["error"]["code"]) == (False, "invalid_request")
        code, output = await cli(settings, "done", case, "--by", "mari.sirevag")
        assert code == 0, output
        ((_, completed),) = await log.wait_for_case(case, "completed")
    assert completed["via"] == "command"
