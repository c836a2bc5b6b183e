"""The watch and `sakspost cases` with a fake clock across Whitsun 2026 (R10, R11, R12, R17):
Friday 22 May, the weekend, Whit Monday 25 May (a public holiday), then the working week."""

from __future__ import annotations

import json
from typing import Any

from schemas.vocab import MailClass
from services.common.app import ServiceApp
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.router.app import RouterHolder, build
from tests.router.builders import oslo
from tests.support.events import event_log
from tests.support.tokens import Issuer, operator_token, token_for

from .conftest import OPERATOR_APP, QUIET
from .support import FakeClock, Mailroom, cli, mail


def _case_ids(output: str) -> list[str]:
    reply: dict[str, Any] = json.loads(output)
    return [case["case_id"] for case in reply["cases"]]


def _router(
    router_env: Settings, org: Organisation, clock: FakeClock
) -> tuple[ServiceApp, RouterHolder]:
    holder = RouterHolder()
    return build(router_env, org, clock=clock, router_settings=QUIET, holder=holder), holder


async def test_overdue_list_and_alerts_across_a_weekend_and_whit_monday(
    router_env: Settings, org: Organisation, mailroom: Mailroom, settings: Settings, issuer: Issuer
) -> None:  # R10, R12
    # An operator sees every department; the stab's deputy supervisor finishes its case.
    operator = operator_token(issuer, OPERATOR_APP)
    deputy = token_for(issuer, "siv.lerbrekk@ha.kommune.no")
    clock = FakeClock(oslo(2026, 5, 22, 9))
    router, holder = _router(router_env, org, clock)
    async with event_log(settings) as log, router.running():
        stab, bygg, helse = "stab@ha.kommune.no", "bygg@ha.kommune.no", "helse@ha.kommune.no"
        # The classifier never answers for this one: no class, nobody assigned. It comes first in
        # the stream, so once the later ones are routed it is open.
        stuck = await mailroom.receive(
            helse, mail("Uklar", to=helse, message_id="w3@x.org"), oslo(2026, 5, 22, 14)
        )
        innsyn = await mailroom.receive(
            stab, mail("Innsynskrav", to=stab, message_id="w1@x.org"), oslo(2026, 5, 22, 10)
        )
        await mailroom.classify(innsyn, MailClass.ARKIVVERDIG, topics=("innsynskrav",))
        question = await mailroom.receive(
            bygg, mail("Spørsmål", to=bygg, message_id="w2@x.org"), oslo(2026, 5, 22, 11)
        )
        await mailroom.classify(question, MailClass.OFFISIELL)
        ((_, routed_innsyn),) = await log.wait_for_case(innsyn.case_id, "routed")
        ((_, routed_question),) = await log.wait_for_case(question.case_id, "routed")
        await mailroom.written(question)
        watch = holder.ready().watch

        async def tick(*moment: int) -> list[tuple[str, str, list[str]]]:
            clock.now = oslo(*moment)
            return [(a.kind.value, a.department, a.case_ids) for a in await watch.tick()]

        assert await tick(2026, 5, 23, 12) == []  # Saturday
        assert await tick(2026, 5, 25, 12) == []  # Whit Monday
        assert await tick(2026, 5, 26, 10, 0) == []  # 2 + 2 office hours: not past yet
        assert await tick(2026, 5, 26, 10, 1) == [("unassigned", "helse", [stuck.case_id])]
        assert await tick(2026, 5, 26, 16, 0) == []  # due at closing time is not late yet
        assert await tick(2026, 5, 26, 16, 1) == [("overdue", "stab", [innsyn.case_id])]
        code, output = await cli(settings, "list", "--overdue", "--json", token=operator)
        assert code == 0 and _case_ids(output) == [innsyn.case_id]

        code, output = await cli(settings, "done", innsyn.case_id, token=deputy)
        assert code == 0, output
        ((_, completed),) = await log.wait_for_case(innsyn.case_id, "completed")
        assert completed["via"] == "command" and completed["by"]["id"] == "siv.lerbrekk"

        assert await tick(2026, 5, 28, 16, 1) == [("overdue", "bygg", [question.case_id])]
        assert await tick(2026, 5, 29, 9) == []  # once per case and kind
        code, output = await cli(settings, "list", "--overdue", "--json", token=operator)
        assert code == 0 and _case_ids(output) == [question.case_id]
        code, output = await cli(settings, "list", "--overdue", token=operator)
        assert code == 0 and question.case_id in output and "FORSEINKA" not in output
        code, output = await cli(settings, "list", "--department", "stab", "--json", token=deputy)
        assert code == 0 and _case_ids(output) == [innsyn.case_id]

    alerts = [(s, p["case_ids"]) for s, p in log.seen if p["type"] == "alert"]
    assert alerts == [
        ("sakspost.alert.unassigned.helse", [stuck.case_id]),
        ("sakspost.alert.overdue.stab", [innsyn.case_id]),
        ("sakspost.alert.overdue.bygg", [question.case_id]),
    ]
    assert routed_innsyn["due_at"] == "2026-05-26T14:00:00Z"  # Tuesday 16:00 in Oslo
    assert routed_question["due_at"] == "2026-05-28T14:00:00Z"  # Thursday 16:00 in Oslo
