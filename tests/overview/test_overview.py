"""Issue 19: the overview on real parts (nats-server, the emulator's Entra ID, HTTP): sign-in
required, who sees what, the audit of sensitive cases, the live stream, commands with the
person's token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from nats.aio.msg import Msg

from schemas.events import Alert, CaseViewed
from schemas.vocab import AlertKind
from services.common.jetstream import EVENTS_STREAM, INGEST_BUCKET
from services.common.writeback import graph_id_token
from tests.support.connections import Connect
from tests.support.publishing import EventInjector

from .conftest import CASEWORKER, OTHER_DEPARTMENT, SUPERVISOR, Launch, case_record

WAIT = 30.0


async def test_without_a_session_pages_go_to_sign_in_and_the_rest_is_401(
    launch: Launch,
) -> None:
    async with launch() as overview:
        client, _ = await overview.client(None)
        async with client:
            for path in ("/", "/d/teknisk", "/case/anything", "/personal"):
                answer = await client.get(path)
                assert answer.status_code == 302, path
                target = urlsplit(answer.headers["location"])
                assert f"{target.scheme}://{target.netloc}" == overview.emulator.login_url
                assert target.path.endswith("/oauth2/v2.0/authorize")
                query = parse_qs(target.query)
                assert query["code_challenge_method"] == ["S256"]
                assert query["redirect_uri"] == [f"{overview.url}/auth/callback"]
                assert {"state", "nonce", "code_challenge"} <= set(query)
            for path in ("/d/teknisk/fragment/queue", "/live/teknisk", "/reports/teknisk/csv"):
                assert (await client.get(path)).status_code == 401, path
            assert (await client.post("/case/x/done", data={"csrf": "x"})).status_code == 401
            # A callback nobody started is refused, and makes no session.
            refused = await client.get("/auth/callback?code=abc&state=def")
            assert refused.status_code == 400
            assert "sakspost_session" not in refused.cookies


async def test_a_supervisor_sees_their_department_and_is_refused_another(
    launch: Launch,
) -> None:
    async with launch() as overview:
        await overview.put_case(case_record("teknisk-a"))
        await overview.put_case(case_record("teknisk-b", assignee=CASEWORKER))
        await overview.put_case(case_record("stab-a", department=OTHER_DEPARTMENT))
        client, _ = await overview.client(SUPERVISOR)
        async with client:
            start = await client.get("/")
            assert start.status_code == 200
            assert 'data-department="teknisk"' in start.text
            assert f'data-department="{OTHER_DEPARTMENT}"' not in start.text
            page = await client.get("/d/teknisk")
            assert page.status_code == 200
            assert 'data-case-id="teknisk-a"' in page.text
            assert 'data-case-id="teknisk-b"' in page.text
            assert "Vasslekkasje i Storgata" in page.text
            assert 'id="load"' in page.text
            assert (await client.get(f"/d/{OTHER_DEPARTMENT}")).status_code == 403
            assert (await client.get(f"/d/{OTHER_DEPARTMENT}/fragment/queue")).status_code == 403
            assert (await client.get("/case/stab-a")).status_code == 403
            case = await client.get("/case/teknisk-a")
            assert case.status_code == 200
            assert 'data-action="assign"' in case.text
            assert "words: vasslekkasje" in case.text
            report = await client.get("/reports/teknisk/csv?period=month")
            assert report.status_code == 200
            assert report.headers["content-type"].startswith("text/csv")
            assert report.text.splitlines()[0] == "Measure,Value"


async def test_a_caseworker_sees_only_their_own_cases(launch: Launch) -> None:
    async with launch() as overview:
        await overview.put_case(case_record("mine", assignee=CASEWORKER))
        await overview.put_case(case_record("theirs", assignee="siri.vold"))
        await overview.put_case(case_record("nobodys"))
        client, _ = await overview.client(CASEWORKER)
        async with client:
            page = await client.get("/d/teknisk")
            assert page.status_code == 200
            assert 'data-case-id="mine"' in page.text
            assert 'data-case-id="theirs"' not in page.text
            assert 'data-case-id="nobodys"' not in page.text
            assert 'id="load"' not in page.text
            assert (await client.get("/case/theirs")).status_code == 403
            assert (await client.get("/reports/teknisk")).status_code == 403
            mine = await client.get("/case/mine")
            assert 'data-action="done"' in mine.text
            assert 'data-action="confirm_private"' not in mine.text


async def test_a_sensitive_subject_is_hidden_and_opening_the_case_is_audited(
    launch: Launch, connect_as: Connect
) -> None:
    async with launch() as overview:
        await overview.put_case(
            case_record(
                "sensitive", assignee=CASEWORKER, sensitive=True, subject="Helseopplysningar"
            )
        )
        admin = await connect_as("admin")
        heard: asyncio.Queue[Msg] = asyncio.Queue()
        subscription = await admin.subscribe("sakspost.audit.case_viewed.>", cb=heard.put)
        supervisor, _ = await overview.client(SUPERVISOR)
        async with supervisor:
            page = await supervisor.get("/d/teknisk")
            assert 'data-case-id="sensitive"' in page.text
            assert "Helseopplysningar" not in page.text
            assert "hidden: sensitive mail" in page.text
            case = await supervisor.get("/case/sensitive")
            assert case.status_code == 200
            assert "Helseopplysningar" not in case.text
        message = await asyncio.wait_for(heard.get(), WAIT)
        await subscription.unsubscribe()
        assert message.subject == "sakspost.audit.case_viewed.teknisk"
        viewed = CaseViewed.model_validate_json(message.data)
        assert (viewed.case_id, viewed.viewer, viewed.department) == (
            "sensitive",
            SUPERVISOR,
            "teknisk",
        )
        kept = await admin.jetstream().get_last_msg(EVENTS_STREAM, message.subject)
        assert CaseViewed.model_validate_json(kept.data or b"") == viewed
        assignee, _ = await overview.client(CASEWORKER)
        async with assignee:
            assert "Helseopplysningar" in (await assignee.get("/d/teknisk")).text


async def test_the_live_stream_tells_the_page_to_redraw_when_a_case_changes(
    launch: Launch,
) -> None:
    async with launch() as overview:
        await overview.put_case(case_record("live-a"))
        client, _ = await overview.client(SUPERVISOR)
        async with client, client.stream("GET", "/live/teknisk") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await asyncio.wait_for(_line_with(lines, ": connected"), WAIT)
            await overview.put_case(case_record("live-a", assignee=CASEWORKER))
            await asyncio.wait_for(_line_with(lines, "event: refresh"), WAIT)
            assert await asyncio.wait_for(anext(lines), WAIT) == "data: queue"
            fragment = await client.get("/d/teknisk/fragment/queue")
            assert 'data-case-id="live-a" data-status="tildelt"' in fragment.text


async def _line_with(lines: AsyncIterator[str], wanted: str) -> bool:
    async for line in lines:
        if line.startswith(wanted):
            return True
    return False


async def test_an_action_is_a_command_with_the_persons_token_and_its_answer_is_shown(
    launch: Launch, connect_as: Connect
) -> None:
    async with launch() as overview:
        await overview.put_case(case_record("act", assignee=CASEWORKER))
        # The router's side of the contract: it answers on sakspost.cmd.done (the verification of
        # the token is the router's, tested there); here, what the overview sends and shows.
        router = await connect_as("router")
        asked: asyncio.Queue[Msg] = asyncio.Queue()

        async def answer(msg: Msg) -> None:
            await asked.put(msg)
            body = json.loads(msg.data)
            reply = (
                {"ok": True, "changed": True}
                if body["case_id"] == "act"
                else {"ok": False, "error": {"code": "unknown_case", "message": "no such case"}}
            )
            await msg.respond(json.dumps(reply).encode())

        await router.subscribe("sakspost.cmd.done", cb=answer)
        client, session = await overview.client(CASEWORKER)
        assert session is not None
        async with client:
            refused = await client.post("/case/act/done", data={"request_id": "r" * 12})
            assert refused.status_code == 403  # no CSRF token
            # A body larger than any form is not read on (nor held): as good as no form at all.
            padded = {"csrf": session.csrf, "request_id": "request-0009", "pad": "x" * 100_000}
            assert (await client.post("/case/act/done", data=padded)).status_code == 403
            done = await client.post(
                "/case/act/done", data={"csrf": session.csrf, "request_id": "request-0001"}
            )
            assert done.status_code == 303
            assert done.headers["location"] == "/case/act?result=ok"
            shown = await client.get(done.headers["location"])
            assert 'id="notice"' in shown.text
            assert "Done." in shown.text
        msg = await asyncio.wait_for(asked.get(), WAIT)
        assert msg.headers is not None
        assert msg.headers["Authorization"] == f"Bearer {session.id_token.get_secret_value()}"
        assert json.loads(msg.data) == {"request_id": "request-0001", "case_id": "act"}


async def test_language_reports_and_the_owners_own_mailbox_page(
    launch: Launch, connect_as: Connect
) -> None:
    async with launch() as overview:
        await overview.put_case(case_record("report-a", assignee=CASEWORKER))
        ingest = await connect_as("ingest")
        decisions = await ingest.jetstream().key_value(INGEST_BUCKET)
        decision = {"staff_id": SUPERVISOR, "opted_in": True, "at": "2026-12-01T08:00:00+00:00"}
        await decisions.put(
            f"personal.optin.{graph_id_token(SUPERVISOR)}", json.dumps(decision).encode()
        )
        client, session = await overview.client(SUPERVISOR)
        assert session is not None
        async with client:
            report = await client.get("/reports/teknisk?period=week")
            assert report.status_code == 200
            assert 'id="report"' in report.text
            assert 'data-staff-id="anders.moi"' in report.text
            mine = await client.get("/personal")
            assert 'data-opted-in="true"' in mine.text
            assert 'data-action="opt_out"' in mine.text
            switched = await client.post(
                "/language",
                data={"csrf": session.csrf, "language": "nn"},
                headers={"referer": f"{overview.url}/d/teknisk"},
            )
            assert switched.status_code == 303
            assert switched.headers["location"] == "/d/teknisk"
            page = await client.get("/d/teknisk")
            assert '<html lang="nn">' in page.text
            assert "Ikkje tildelte" in page.text
        other, _ = await overview.client(CASEWORKER)
        async with other:
            theirs = await other.get("/personal")
            assert 'data-opted-in="false"' in theirs.text


async def test_an_archive_refusal_appears_live_with_its_retry_for_the_supervisor(
    launch: Launch, injector: EventInjector, connect_as: Connect
) -> None:
    async with launch() as overview:
        await overview.put_case(case_record("refused", assignee=CASEWORKER))
        websak = await connect_as("websak")
        asked: asyncio.Queue[Msg] = asyncio.Queue()

        async def answer(msg: Msg) -> None:
            await asked.put(msg)
            await msg.respond(json.dumps({"ok": False, "error": {"code": "busy"}}).encode())

        # websak's side of the contract (its verification is websak's, tested there).
        await websak.subscribe("sakspost.cmd.retry_archive", cb=answer)
        client, session = await overview.client(SUPERVISOR)
        assert session is not None
        async with client, client.stream("GET", "/live/teknisk") as stream:
            lines = stream.aiter_lines()
            assert await asyncio.wait_for(_line_with(lines, ": connected"), WAIT)
            refusal = Alert.about_case(
                AlertKind.ARCHIVE_FAILED,
                "refused",
                "teknisk",
                datetime.now(UTC),
                "WebSak refused the journalpost",
                "validation",
            )
            await injector.event(refusal)
            await asyncio.wait_for(_line_with(lines, "data: alerts"), WAIT)
            page = await client.get("/d/teknisk")
            assert 'data-alert-kind="archive_failed"' in page.text
            assert 'data-action="retry_archive" data-case-id="refused"' in page.text
            case = await client.get("/case/refused")
            assert 'data-action="retry_archive"' in case.text
            retried = await client.post(
                "/d/teknisk/alert/retry_archive",
                data={"csrf": session.csrf, "request_id": "request-0002", "case_id": "refused"},
            )
            assert retried.headers["location"] == "/d/teknisk?result=busy"
            shown = await client.get(retried.headers["location"])
            assert "The case is busy. Try again." in shown.text
        msg = await asyncio.wait_for(asked.get(), WAIT)
        assert json.loads(msg.data) == {"request_id": "request-0002", "case_id": "refused"}
        caseworker, _ = await overview.client(CASEWORKER)
        async with caseworker:
            assert "data-alert-kind" not in (await caseworker.get("/d/teknisk")).text
            own = await caseworker.get("/case/refused")
            assert 'data-action="retry_archive"' not in own.text
