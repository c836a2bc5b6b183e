"""The overview's HTTP routes (Starlette): sign-in, pages, fragments, live stream, actions, CSV.

Who is asking comes from the session (`sessions.py`), made at sign-in from an ID token verified
by `BearerVerifier`. Without a session, a page starts the sign-in (302 to Entra ID's authorize
endpoint); a fragment, the live stream and the CSV answer 401 (a script or download cannot follow
a sign-in). What a person may see is `rights.py`'s: a department they may not see, or a case of
it, is 403. Every POST carries the session's CSRF token.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
import structlog
from nats.aio.client import Client
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.commands import Verb
from schemas.events import CaseViewed
from schemas.identity import make_event_id
from services.common.bearer import BearerVerifier, Unauthenticated
from services.common.clock import Clock
from services.common.language import language_named
from services.common.orgconfig import Organisation
from services.common.rights import (
    Action,
    may,
    may_decide_personal,
    supervises,
    visible_departments,
)
from services.common.writeback import graph_id_token
from services.overview import pages
from services.overview.actions import (
    ALERT_VERBS,
    CASE_VERBS,
    RIGHTS,
    BadForm,
    case_request,
    send,
)
from services.overview.feed import ALERTS, QUEUE, Broadcast, events
from services.overview.login import SignIn, SignInFailed, needs_refresh
from services.overview.readmodel import ReadModel, may_see, may_see_department, sees_alerts
from services.overview.reports import Period, build_report, period_span
from services.overview.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    CookiePolicy,
    Session,
    SessionStore,
    new_id,
)
from services.overview.texts import say

log = structlog.get_logger(__name__)

STATIC = Path(__file__).parent / "static"
KEEPALIVE_SECONDS = 15.0
LOGIN_SECONDS = 600
MAX_FORM_BYTES = 16 * 1024
SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


@dataclass
class Overview:
    """What the routes share; the NATS parts are set once the service is connected."""

    org: Organisation
    model: ReadModel
    broadcast: Broadcast
    cookies: CookiePolicy
    clock: Clock
    publish: Callable[[CaseViewed], Awaitable[Any]]
    store: SessionStore | None = None
    signin: SignIn | None = None
    verifier: BearerVerifier | None = None
    nats: Client | None = None
    personal: KeyValue | None = None
    end_session_return: str = "/"

    def connected(self) -> tuple[SessionStore, SignIn, BearerVerifier, Client]:
        store, signin, verifier, nats = self.store, self.signin, self.verifier, self.nats
        if store is None or signin is None or verifier is None or nats is None:
            raise RuntimeError("the overview is not connected yet")
        return store, signin, verifier, nats


# --- sessions -----------------------------------------------------------------------------------


async def session_of(ov: Overview, request: Request) -> tuple[str, Session] | None:
    """The request's session, its ID token refreshed when it is about to expire; None when there
    is none or it cannot be kept (refused refresh: the person signs in again)."""
    store, signin, verifier, _ = ov.connected()
    session_id = request.cookies.get(SESSION_COOKIE)
    session = await store.get(session_id)
    if session is None or session_id is None:
        return None
    now = ov.clock().timestamp()
    if needs_refresh(session.id_token_expires, now):
        if session.refresh_token is None:
            await store.drop(session_id)
            return None
        try:
            tokens = await signin.refresh(session.refresh_token)
            actor = await verifier.verify(tokens.id_token.get_secret_value())
        except (SignInFailed, Unauthenticated) as error:
            log.info("session not refreshed", reason=getattr(error, "reason", "refused"))
            await store.drop(session_id)
            return None
        if actor.id != session.actor_id:
            await store.drop(session_id)
            return None
        session = session.model_copy(
            update={
                "id_token": tokens.id_token,
                "id_token_expires": tokens.expires,
                "refresh_token": tokens.refresh_token or session.refresh_token,
            }
        )
        await store.put(session_id, session)
    return session_id, session


def viewer_of(ov: Overview, session: Session) -> pages.Viewer:
    return pages.Viewer(session.actor, session.language, session.csrf, ov.org)


async def begin_login(ov: Overview, next_path: str) -> Response:
    """Send the browser to Entra ID's authorize endpoint (state, nonce, PKCE S256 by msal)."""
    store, signin, _, _ = ov.connected()
    try:
        flow = await signin.begin()
    except (httpx.HTTPError, ValueError, KeyError) as error:
        # Entra ID unreachable (or its discovery document unusable): say so, try again later.
        log.warning("sign-in not started", error=type(error).__name__)
        return _refusal(ov, "error_unavailable", 503)
    login_id = new_id()
    await store.put_login(login_id, {"flow": flow, "next": next_path})
    response = RedirectResponse(str(flow["auth_uri"]), status_code=302)
    response.set_cookie(LOGIN_COOKIE, login_id, **ov.cookies.options(LOGIN_SECONDS))
    return response


async def form_of(request: Request) -> dict[str, str]:
    """A posted form (`application/x-www-form-urlencoded`, all the pages send), first value of
    each field; a body larger than any form the pages draw is read as empty, and read no further
    than that (a huge body is never held in memory). Read once per request (the CSRF check and
    the handler both ask): the body's stream can be consumed only once."""
    kept: dict[str, str] | None = getattr(request.state, "form", None)
    if kept is not None:
        return kept
    body = bytearray()
    form: dict[str, str] = {}
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            break
    else:
        form = {k: v[0] for k, v in parse_qs(bytes(body).decode("utf-8", "replace")).items()}
    request.state.form = form
    return form


def _safe_next(value: object) -> str:
    """Only a path of this site (never `//host` or a URL) is returned to after sign-in."""
    text = value if isinstance(value, str) else "/"
    local = text.startswith("/") and not text.startswith("//") and "\\" not in text
    return text if local else "/"


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


def _refusal(ov: Overview, key: str, status: int, **values: object) -> Response:
    """A page for someone without a session, in the organisation's language."""
    language = ov.org.default_language
    text = say(language, key, **values)
    return _page(pages.message_page(None, language, say(language, "refused_title"), text), status)


# --- the routes ---------------------------------------------------------------------------------


def routes(ov: Overview) -> list[Route]:
    Handler = Callable[[Request, str, Session], Awaitable[Response]]

    def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A page: without a session, start the sign-in and come back here."""

        async def guarded(request: Request) -> Response:
            found = await session_of(ov, request)
            if found is None:
                return await begin_login(ov, request.url.path)
            return await handler(request, *found)

        return guarded

    def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A fragment, the live stream, a download or a form: 401 without a session; a POST
        also needs the session's CSRF token."""

        async def guarded(request: Request) -> Response:
            found = await session_of(ov, request)
            if found is None:
                return PlainTextResponse("sign-in required", status_code=401)
            posted = request.method == "POST"
            if posted and not found[1].checks((await form_of(request)).get("csrf")):
                return PlainTextResponse("bad CSRF token", status_code=403)
            return await handler(request, *found)

        return guarded

    async def callback(request: Request) -> Response:
        store, signin, verifier, _ = ov.connected()
        pending = await store.take_login(request.cookies.get(LOGIN_COOKIE))
        if pending is None:
            return _refusal(ov, "login_failed", 400, reason="no_sign_in_under_way")
        try:
            tokens = await signin.finish(pending["flow"], dict(request.query_params))
            actor = await verifier.verify(tokens.id_token.get_secret_value())
        except SignInFailed as error:
            return _refusal(ov, "login_failed", 400, reason=error.reason)
        except Unauthenticated as error:
            log.warning("sign-in refused", reason=error.reason, claimed=error.claimed)
            key = "not_staff" if error.reason == "unknown_actor" else "login_failed"
            return _refusal(ov, key, 403, reason=error.reason)
        member = next((m for m in ov.org.staff if m.id == actor.id), None)
        session = Session(
            actor_id=actor.id,
            actor_name=actor.name,
            actor_kind=actor.kind,
            id_token=tokens.id_token,
            id_token_expires=tokens.expires,
            refresh_token=tokens.refresh_token,
            language=member.language if member is not None else ov.org.default_language,
            csrf=new_id(),
        )
        session_id = new_id()
        await store.put(session_id, session)
        log.info("signed in", actor=actor.id)
        response = RedirectResponse(_safe_next(pending.get("next")), status_code=303)
        response.set_cookie(SESSION_COOKIE, session_id, **ov.cookies.options(SESSION_SECONDS))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    async def logout(request: Request, session_id: str, session: Session) -> Response:
        store, signin, _, _ = ov.connected()
        await store.drop(session_id)
        end = await signin.end_session_url()
        target = (
            f"{end}?{urlencode({'post_logout_redirect_uri': ov.end_session_return})}"
            if end
            else "/"
        )
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def language(request: Request, session_id: str, session: Session) -> Response:
        store, _, _, _ = ov.connected()
        chosen = language_named((await form_of(request)).get("language"))
        await store.put(session_id, session.model_copy(update={"language": chosen}))
        # Back to the page the selector was on (its path only: never another site).
        back = urlsplit(request.headers.get("referer", "/")).path or "/"
        return RedirectResponse(_safe_next(back), status_code=303)

    async def start(request: Request, session_id: str, session: Session) -> Response:
        actor = session.actor
        shown = [(d, supervises(ov.org, actor, d)) for d in visible_departments(ov.org, actor)]
        return _page(pages.start_page(viewer_of(ov, session), shown))

    def _department(request: Request, session: Session) -> str | None:
        department = str(request.path_params["department"])
        if department not in ov.org.departments:
            return None
        return department if may_see_department(ov.org, session.actor, department) else None

    def _queue(viewer: pages.Viewer, department: str) -> str:
        now = ov.clock()
        lists = ov.model.lists(viewer.actor, department, now)
        load = ov.model.load(department) if supervises(ov.org, viewer.actor, department) else None
        return pages.queue_fragment(viewer, department, lists, load, now)

    def _alerts(viewer: pages.Viewer, department: str) -> str | None:
        if not sees_alerts(ov.org, viewer.actor, department):
            return None
        verbs = frozenset(
            verb
            for verb in ALERT_VERBS.values()
            if may(ov.org, viewer.actor, RIGHTS[verb], department, None)
        )
        recent = ov.model.recent_alerts(department)
        return pages.alerts_fragment(viewer, department, recent, verbs, new_id)

    async def department_page(request: Request, session_id: str, session: Session) -> Response:
        department = _department(request, session)
        viewer = viewer_of(ov, session)
        if department is None:
            return _forbidden(viewer)
        reports = may(ov.org, session.actor, Action.REPORT, department, None)
        notice = _notice(viewer.language, request.query_params.get("result"))
        body = pages.department_page(
            viewer,
            department,
            _queue(viewer, department),
            _alerts(viewer, department),
            reports,
            notice,
        )
        return _page(body)

    async def fragment(request: Request, session_id: str, session: Session) -> Response:
        department = _department(request, session)
        if department is None:
            return PlainTextResponse("forbidden", status_code=403)
        viewer = viewer_of(ov, session)
        name = request.path_params["name"]
        if name == QUEUE:
            return _page(_queue(viewer, department))
        if name == ALERTS and (alerts := _alerts(viewer, department)) is not None:
            return _page(alerts)
        return PlainTextResponse("no such fragment", status_code=404)

    async def live(request: Request, session_id: str, session: Session) -> Response:
        department = _department(request, session)
        if department is None:
            return PlainTextResponse("forbidden", status_code=403)

        async def stream() -> AsyncIterator[str]:
            with ov.broadcast.listen(department) as queue:
                yield "retry: 5000\n: connected\n\n"
                async for event in events(queue, KEEPALIVE_SECONDS):
                    yield event

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    def _forbidden(viewer: pages.Viewer) -> Response:
        language = viewer.language
        return _page(
            pages.message_page(
                viewer, language, say(language, "refused_title"), say(language, "forbidden")
            ),
            403,
        )

    def _notice(language: Any, result: str | None) -> str | None:
        if result is None:
            return None
        if result in ("ok", "unchanged"):
            return say(language, result)
        try:
            return say(language, f"error_{result}")
        except KeyError:
            return say(language, "error_generic", code=result)

    async def case_page(request: Request, session_id: str, session: Session) -> Response:
        viewer = viewer_of(ov, session)
        case = ov.model.case(str(request.path_params["case_id"]))
        if case is None:
            return _page(
                pages.message_page(viewer, viewer.language, say(viewer.language, "not_found"), ""),
                404,
            )
        if not may_see(ov.org, session.actor, case):
            return _forbidden(viewer)
        now = ov.clock()
        if case.sensitive:
            # Recorded before it is shown: a page whose viewing cannot be recorded is not shown.
            await ov.publish(
                CaseViewed(
                    event_id=make_event_id(
                        "case_viewed", case.case_id, session.actor_id, now.isoformat()
                    ),
                    case_id=case.case_id,
                    occurred_at=now,
                    department=case.department,
                    viewer=session.actor_id,
                )
            )
        verbs = frozenset(
            v
            for v in CASE_VERBS
            if may(ov.org, session.actor, RIGHTS[v], case.department, case.assignee)
        )
        members = [
            (m.id, m.name) for m in ov.org.staff if ov.org.may_be_assigned(case.department, m.id)
        ]
        actions = pages.CaseActions(verbs, members, new_id, ov.model.alerted(case))
        notice = _notice(viewer.language, request.query_params.get("result"))
        return _page(pages.case_page(viewer, case, actions, now, notice))

    async def case_action(request: Request, session_id: str, session: Session) -> Response:
        _, _, _, nats = ov.connected()
        case = ov.model.case(str(request.path_params["case_id"]))
        if case is None or not may_see(ov.org, session.actor, case):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            verb = Verb(str(request.path_params["verb"]))
            body = case_request(verb, case.case_id, await form_of(request))
        except (ValueError, BadForm):
            return PlainTextResponse("bad form", status_code=400)
        if verb not in RIGHTS:
            return PlainTextResponse("bad form", status_code=400)
        outcome = await send(nats, verb, body, session.id_token.get_secret_value())
        log.info("command sent", verb=verb.value, actor=session.actor_id, result=outcome.result)
        return RedirectResponse(
            f"/case/{quote(case.case_id)}?result={quote(outcome.result)}", status_code=303
        )

    async def alert_action(request: Request, session_id: str, session: Session) -> Response:
        """An alert's action (retry an archive refusal, archive a reply sent from Outlook) on the
        case id the alert names; back to the department page with the answer."""
        _, _, _, nats = ov.connected()
        department = _department(request, session)
        try:
            verb = Verb(str(request.path_params["verb"]))
        except ValueError:
            verb = None
        if department is None or verb is None or verb not in ALERT_VERBS.values():
            return PlainTextResponse("forbidden", status_code=403)
        if not may(ov.org, session.actor, RIGHTS[verb], department, None):
            return PlainTextResponse("forbidden", status_code=403)
        form = await form_of(request)
        try:
            body = case_request(verb, form.get("case_id", ""), form)
        except BadForm:
            return PlainTextResponse("bad form", status_code=400)
        if not body["case_id"]:
            return PlainTextResponse("bad form", status_code=400)
        outcome = await send(nats, verb, body, session.id_token.get_secret_value())
        log.info("command sent", verb=verb.value, actor=session.actor_id, result=outcome.result)
        return RedirectResponse(
            f"/d/{quote(department)}?result={quote(outcome.result)}", status_code=303
        )

    def _report(request: Request, session: Session) -> tuple[str, Period] | None:
        department = str(request.path_params["department"])
        if department not in ov.org.departments or not may(
            ov.org, session.actor, Action.REPORT, department, None
        ):
            return None
        try:
            period = Period(request.query_params.get("period", Period.WEEK.value))
        except ValueError:
            period = Period.WEEK
        return department, period

    def _built(department: str, period: Period) -> Any:
        now = ov.clock()
        zone_today = now.astimezone(ZoneInfo(ov.org.timezone)).date()
        span = period_span(period, zone_today, ov.org.timezone)
        cases = [c for c in ov.model.cases.values() if c.department == department]
        return build_report(cases, span, now)

    async def report_page(request: Request, session_id: str, session: Session) -> Response:
        viewer = viewer_of(ov, session)
        chosen = _report(request, session)
        if chosen is None:
            return _forbidden(viewer)
        department, period = chosen
        return _page(pages.report_page(viewer, department, period, _built(department, period)))

    async def report_csv(request: Request, session_id: str, session: Session) -> Response:
        chosen = _report(request, session)
        if chosen is None:
            return PlainTextResponse("forbidden", status_code=403)
        department, period = chosen
        viewer = viewer_of(ov, session)
        report = _built(department, period)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([say(viewer.language, "measure"), say(viewer.language, "value")])
        writer.writerows(pages.report_rows(viewer, report))
        for row in report.caseworkers:
            name = (
                ov.org.staff_member(row.staff_id).name
                if any(m.id == row.staff_id for m in ov.org.staff)
                else row.staff_id
            )
            writer.writerow([f"{name}: {say(viewer.language, 'assigned_count')}", row.assigned])
            writer.writerow([f"{name}: {say(viewer.language, 'done_count')}", row.done])
        filename = f"sakspost-{department}-{period.value}-{report.span.start:%Y-%m-%d}.csv"
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )

    async def personal_page(request: Request, session_id: str, session: Session) -> Response:
        viewer = viewer_of(ov, session)
        if not may_decide_personal(session.actor, session.actor_id):
            return _forbidden(viewer)
        opted_in = await _opted_in(ov, session.actor_id)
        notice = _notice(viewer.language, request.query_params.get("result"))
        return _page(pages.personal_page(viewer, opted_in, notice, new_id()))

    async def personal_decide(request: Request, session_id: str, session: Session) -> Response:
        _, _, _, nats = ov.connected()
        if not may_decide_personal(session.actor, session.actor_id):
            return PlainTextResponse("forbidden", status_code=403)
        form = await form_of(request)
        request_id = form.get("request_id", "")
        if not 8 <= len(request_id) <= 64:
            return PlainTextResponse("bad form", status_code=400)
        body = {"request_id": request_id, "opted_in": form.get("opted_in") == "true"}
        outcome = await send(nats, Verb.PERSONAL_DECIDE, body, session.id_token.get_secret_value())
        log.info(
            "command sent", verb="personal_decide", actor=session.actor_id, result=outcome.result
        )
        return RedirectResponse(f"/personal?result={quote(outcome.result)}", status_code=303)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("overview.js", "overview.css"):
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(STATIC / name, headers={"cache-control": "max-age=300"})

    return [
        Route("/", page(start)),
        Route("/auth/callback", callback),
        Route("/logout", api(logout), methods=["POST"]),
        Route("/language", api(language), methods=["POST"]),
        Route("/d/{department}", page(department_page)),
        Route("/d/{department}/fragment/{name}", api(fragment)),
        Route("/d/{department}/alert/{verb}", api(alert_action), methods=["POST"]),
        Route("/live/{department}", api(live)),
        Route("/case/{case_id}", page(case_page)),
        Route("/case/{case_id}/{verb}", api(case_action), methods=["POST"]),
        Route("/reports/{department}", page(report_page)),
        Route("/reports/{department}/csv", api(report_csv)),
        Route("/personal", page(personal_page)),
        Route("/personal", api(personal_decide), methods=["POST"]),
        Route("/static/{name}", static),
    ]


async def _opted_in(ov: Overview, staff_id: str) -> bool:
    """The person's own decision as ingest keeps it; the organisation file's until they made one."""
    if ov.personal is not None:
        try:
            entry = await ov.personal.get(f"personal.optin.{graph_id_token(staff_id)}")
        except KeyNotFoundError:
            entry = None
        if entry is not None and entry.value:
            decided = json.loads(entry.value).get("opted_in")
            if isinstance(decided, bool):
                return decided
    return ov.org.staff_member(staff_id).personal_opt_in


class SecurityHeaders:
    """Adds the headers every answer carries (no framing, no sniffing, only our own scripts)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def web_app(ov: Overview) -> ASGIApp:
    return SecurityHeaders(Starlette(routes=routes(ov)))
