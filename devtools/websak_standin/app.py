"""The WebSak stand-in: the subset of ACOS's WebSak+ Integration API that Sakspost uses.

Routes under `/api/integration/` follow `contract/websak-integration-api.openapi.json` here (tests
validate requests and responses against it). Routes the contract lacks are stand-in extensions:

- `GET  /_standin/state`            everything stored (cases, journalposts, contacts, documents)
- `GET  /_standin/files/{filId}`    the bytes of a stored file
- `GET|PUT|DELETE /_standin/faults` read, change or reset the fault switches
- `POST /connect/token`             OAuth 2 client credentials (WebSak's IdentityServer stands here)
- `GET  /healthz`, `GET /readyz`

Answers outside the contract's 200/401/403: 400 for a refused request (plain-text reason, like
ASP.NET's `BadRequest("...")`), 404 for an unknown id, 500 and 503 from the fault switches.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from devtools.websak_standin.formdata import FormDataError, file_field
from devtools.websak_standin.store import NotFound, Refused, Store
from devtools.websak_standin.switches import Faults, Tokens

log = structlog.get_logger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
API = "/api/integration"
BodyModel = TypeVar("BodyModel", bound=BaseModel)


class _Body(BaseModel):
    # Field names are the contract's (camelCase). additionalProperties is false in ACOS's
    # schemas, so an unknown field is a client bug.
    model_config = ConfigDict(extra="forbid")


class NyJournalpostRequest(_Body):
    sakId: int
    malJpId: int
    tittel: str | None = None


class NyKontaktInformasjon(_Body):
    navn: str | None = None
    epost: str | None = None
    telefon: str | None = None
    adresse1: str | None = None
    adresse2: str | None = None
    adresse3: str | None = None
    adresse4: str | None = None
    postnr: str | None = None
    offentligNummer: str | None = None
    erPerson: bool | None = None
    landId: str | None = None
    attention: str | None = None
    referanse: str | None = None


class NyKontaktRequest(_Body):
    id: int | None = None
    kontaktInformasjon: NyKontaktInformasjon
    erKopiMottaker: bool = False


@dataclass(slots=True)
class StandIn:
    store: Store
    faults: Faults
    tokens: Tokens


def _bad_request(reason: str) -> Response:
    return PlainTextResponse(reason, status_code=400)


async def _json_body(request: Request, model: type[BodyModel]) -> BodyModel:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        raise Refused(f"invalid request body: {error.error_count()} error(s)") from None


def _guarded(standin: StandIn, handler: Handler, *, authenticated: bool = True) -> Handler:
    """Apply the fault switches, then the bearer token check, then map store errors."""

    async def guarded(request: Request) -> Response:
        faults = standin.faults
        if faults.down:
            return PlainTextResponse("Service Unavailable", status_code=503)
        if faults.slow_ms:
            await asyncio.sleep(faults.slow_ms / 1000)
        if faults.take_failure():
            return PlainTextResponse("Internal Server Error", status_code=500)
        if authenticated:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not standin.tokens.accepts(token.strip(), faults):
                return Response(
                    status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
                )
        try:
            return await handler(request)
        except Refused as error:
            return _bad_request(str(error))
        except NotFound as error:
            return PlainTextResponse(str(error), status_code=404)

    return guarded


def build_app(standin: StandIn) -> Starlette:
    store = standin.store

    def path_int(request: Request, name: str) -> int:
        value: int = request.path_params[name]
        return value

    async def test(request: Request) -> Response:
        return JSONResponse("foo")

    async def sak(request: Request) -> Response:
        return JSONResponse(store.sak(path_int(request, "id")))

    async def sak_journalposter(request: Request) -> Response:
        return JSONResponse(store.journalposts_in(path_int(request, "id")))

    async def journalpost(request: Request) -> Response:
        return JSONResponse(store.journalpost(path_int(request, "id")))

    async def ny_journalpost(request: Request) -> Response:
        body = await _json_body(request, NyJournalpostRequest)
        jp_id = store.create_journalpost(body.sakId, body.malJpId, body.tittel)
        log.info("standin_journalpost_created", journalpost_id=jp_id, sak_id=body.sakId)
        return JSONResponse(jp_id)

    async def mottakere(request: Request) -> Response:
        return JSONResponse(store.contacts(path_int(request, "id")))

    async def avsmottakere(request: Request) -> Response:
        body = await _json_body(request, NyKontaktRequest)
        info = body.kontaktInformasjon.model_dump()
        kontakt = store.add_contact(path_int(request, "jpId"), info, body.erKopiMottaker)
        return JSONResponse(kontakt)

    async def dokumenter(request: Request) -> Response:
        return JSONResponse(store.documents(path_int(request, "id")))

    def upload(*, main: bool) -> Handler:
        async def handle(request: Request) -> Response:
            try:
                uploaded = file_field(request.headers.get("content-type", ""), await request.body())
            except FormDataError as error:
                return _bad_request(str(error))
            document_id = store.add_document(
                path_int(request, "jpid"),
                uploaded.filename,
                uploaded.content_type,
                uploaded.content,
                main=main,
            )
            return JSONResponse(document_id)

        return handle

    async def state(request: Request) -> Response:
        return JSONResponse(store.dump())

    async def stored_file(request: Request) -> Response:
        stored = store.stored_file(path_int(request, "filId"))
        return FileResponse(
            stored.path,
            media_type=stored.content_type,
            headers={"ETag": f'"{stored.sha256}"'},
        )

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            standin.faults = Faults()
        elif request.method == "PUT":
            try:
                changes: Any = json.loads(await request.body())
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object of switches")
                standin.faults.update(changes)
            except ValueError as error:
                return _bad_request(str(error))
            if standin.faults.expired_token:
                standin.tokens.expire_all()
        log.info("standin_faults", **standin.faults.as_dict())
        return JSONResponse(standin.faults.as_dict())

    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            decoded = base64.b64decode(credentials, validate=False).decode("utf-8", "replace")
            client_id, _, client_secret = decoded.partition(":")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        issued = standin.tokens.issue(client_id, client_secret)
        if issued is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse(
            {
                "access_token": issued,
                "token_type": "Bearer",
                "expires_in": int(standin.tokens.ttl_s),
                "scope": "integration",
            }
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def api(path: str, handler: Handler, methods: list[str]) -> Route:
        return Route(API + path, _guarded(standin, handler), methods=methods)

    routes = [
        api("/test", test, ["GET"]),
        api("/sak/{id:int}", sak, ["GET"]),
        api("/sak/{id:int}/journalposter", sak_journalposter, ["GET"]),
        api("/journalpost/ny", ny_journalpost, ["POST"]),
        api("/journalpost/{id:int}", journalpost, ["GET"]),
        api("/journalpost/{id:int}/mottakere", mottakere, ["GET"]),
        api("/journalpost/{jpId:int}/avsmottakere", avsmottakere, ["POST"]),
        api("/journalpost/{id:int}/dokumenter", dokumenter, ["GET"]),
        api("/journalpost/{jpid:int}/dokument/nytthoveddokument", upload(main=True), ["POST"]),
        api("/journalpost/{jpid:int}/dokument/nyttvedlegg", upload(main=False), ["POST"]),
        Route("/connect/token", _guarded(standin, token, authenticated=False), methods=["POST"]),
        Route("/_standin/state", state, methods=["GET"]),
        Route("/_standin/files/{filId:int}", _guarded_extension(stored_file), methods=["GET"]),
        Route("/_standin/faults", faults, methods=["GET", "PUT", "DELETE"]),
        Route("/healthz", healthz, methods=["GET"]),
        # Ready as soon as it serves: its state is loaded before the app is built.
        Route("/readyz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _guarded_extension(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except NotFound as error:
            return PlainTextResponse(str(error), status_code=404)

    return guarded
