"""Entra ID's interactive sign-in, as the emulator plays it on its login host for Sakspost's own
app registrations (the overview's web login, the command line's device code, an operator app's
client credentials).

- `GET /{tenant}/oauth2/v2.0/authorize` (response_type=code, client_id, a registered
  redirect_uri, scope with openid, state, nonce, PKCE S256 required, prompt): the account picker;
  its `POST` redirects to `redirect_uri?code=…&state=…`. An unknown client or an unregistered
  redirect URI gets an error page, never a redirect.
- `POST /{tenant}/oauth2/v2.0/devicecode`, and `GET/POST /device` where the person enters the
  code and picks who they are (or declines).
- `POST /{tenant}/oauth2/v2.0/token` (through `login_host.py`): authorization_code, refresh_token,
  device_code and client_credentials for `<registered app id>/.default`.
- `GET /{tenant}/oauth2/v2.0/logout`: back to `post_logout_redirect_uri` when it is registered.

Codes expire by the emulator's clock (tests advance it); the tokens' times are wall time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from devtools.graph_emulator.clock import Clock
from devtools.graph_emulator.entra import SigningKey, issuer
from devtools.graph_emulator.grants import (
    CODE_SECONDS,
    DEVICE_CODE_SECONDS,
    DEVICE_POLL_SECONDS,
    CodeGrant,
    Grants,
    RefreshGrant,
)
from devtools.graph_emulator.identity import AppRegistration, Refused, check_secret, invalid_client
from devtools.graph_emulator.oidc_tokens import app_token, person_tokens
from devtools.graph_emulator.people import Person, person_for, staff
from devtools.graph_emulator.signin_pages import device_code_page, message_page, picker_page
from services.common.orgconfig import Organisation

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = ("authorization_code", "refresh_token", DEVICE_CODE_GRANT, "client_credentials")
_AUTHORIZE_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{separator}{urlencode(params)}", status_code=303)


def _error_page(status: int, title: str, message: str) -> Response:
    return HTMLResponse(message_page(title, message), status_code=status)


async def form_of(request: Request) -> dict[str, str]:
    """A urlencoded body, parsed here: Starlette's form parser needs python-multipart."""
    return dict(parse_qsl((await request.body()).decode(errors="replace")))


@dataclass
class SignIn:
    """The tenant's sign-in for `apps`, whose people are the organisation's staff (and anyone
    else who gives an address)."""

    org: Organisation
    tenant_id: str
    names: frozenset[str]
    apps: Mapping[str, AppRegistration]
    key: SigningKey
    clock: Clock
    authority: str
    grants: Grants = field(default_factory=Grants)

    @property
    def issuer(self) -> str:
        return issuer(self.authority, self.tenant_id)

    def knows(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant_id.lower(), *self.names)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # The authorization code flow.

    def authorize(self, tenant: str, params: Mapping[str, str], email: str | None) -> Response:
        """The account picker for a valid request (`email` None), else the code for `email`."""
        if not self.knows(tenant):
            return _error_page(400, "Ukjend katalog", f"AADSTS90002: Tenant '{tenant}' not found.")
        client_id = params.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None:
            return _error_page(
                400,
                "Ukjend applikasjon",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
                "directory.",
            )
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in app.redirect_uris:
            return _error_page(
                400,
                "Ukjend svaradresse",
                f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does "
                f"not match the redirect URIs configured for the application '{client_id}'.",
            )
        state = {"state": params["state"]} if "state" in params else {}
        scopes = params.get("scope", "").split()
        problem = None
        if params.get("response_type") != "code":
            problem = ("unsupported_response_type", "Only response_type=code is supported.")
        elif "openid" not in scopes:
            problem = ("invalid_scope", "The scope must include openid.")
        elif not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            problem = (
                "invalid_request",
                "AADSTS9002325: Proof Key for Code Exchange (S256) is required.",
            )
        elif email is None and params.get("prompt") == "none":
            # The emulator keeps no session: a silent sign-in always needs the person.
            problem = ("login_required", "AADSTS50058: No signed-in user.")
        if problem is not None:
            error, description = problem
            return _redirect(
                redirect_uri, {"error": error, "error_description": description, **state}
            )
        if email is None:
            fields = {name: params[name] for name in _AUTHORIZE_FIELDS if name in params}
            page = picker_page(
                f"/{tenant}/oauth2/v2.0/authorize", fields, staff(self.org), can_decline=False
            )
            return HTMLResponse(page)
        grant = CodeGrant(
            client_id,
            redirect_uri,
            tuple(scopes),
            params.get("nonce") or None,
            params["code_challenge"],
            person_for(self.org, email),
            self._now() + CODE_SECONDS,
        )
        return _redirect(redirect_uri, {"code": self.grants.issue_code(grant), **state})

    # The device code flow.

    def device_code(self, tenant: str, form: Mapping[str, str]) -> dict[str, Any]:
        self._tenant(tenant)
        self._app(form.get("client_id", ""))
        device_code, grant = self.grants.start_device(
            form.get("client_id", ""), tuple(form.get("scope", "").split()), self._now()
        )
        verification_uri = f"{self.authority}/device"
        return {
            "device_code": device_code,
            "user_code": grant.user_code,
            "verification_uri": verification_uri,
            "expires_in": DEVICE_CODE_SECONDS,
            "interval": DEVICE_POLL_SECONDS,
            "message": f"To sign in, use a web browser to open the page {verification_uri} and "
            f"enter the code {grant.user_code} to authenticate.",
        }

    def device_page(self, user_code: str | None) -> Response:
        if not user_code:
            return HTMLResponse(device_code_page())
        grant = self.grants.waiting_for(user_code, self._now())
        if grant is None:
            return HTMLResponse(device_code_page(_UNKNOWN_CODE), status_code=400)
        page = picker_page(
            "/device", {"user_code": grant.user_code}, staff(self.org), can_decline=True
        )
        return HTMLResponse(page)

    def answer_device(self, form: Mapping[str, str]) -> Response:
        person = None if form.get("decline") else person_for(self.org, form.get("email", ""))
        if person is not None and not person.email:
            return self.device_page(form.get("user_code"))
        if not self.grants.answer_device(form.get("user_code", ""), person, self._now()):
            return HTMLResponse(device_code_page(_UNKNOWN_CODE), status_code=400)
        if person is None:
            return _error_page(200, "Innlogginga er avvist", "Du kan lukke dette vindauget.")
        return _error_page(
            200,
            "Du er logga inn",
            f"Du er logga inn som {person.name}. Gå attende til kommandolinja.",
        )

    def logout(self, params: Mapping[str, str]) -> Response:
        target = params.get("post_logout_redirect_uri")
        if target is None:
            return _error_page(200, "Du er logga ut", "Du kan lukke dette vindauget.")
        if not any(target in app.redirect_uris for app in self.apps.values()):
            return _error_page(
                400,
                "Ukjend svaradresse",
                f"AADSTS50011: The post logout redirect URI '{target}' is not registered.",
            )
        state = {"state": params["state"]} if "state" in params else {}
        return _redirect(target, state) if state else RedirectResponse(target, status_code=303)

    # The token endpoint.

    def token(
        self, tenant: str, form: Mapping[str, str], basic: tuple[str, str] | None
    ) -> dict[str, Any]:
        """The token response for one of `GRANT_TYPES`, or `Refused`; `basic` is the client's
        id and secret when it sent them as HTTP Basic authentication."""
        self._tenant(tenant)
        client_id, secret = basic if basic is not None else (form.get("client_id", ""), None)
        secret = secret if secret is not None else form.get("client_secret")
        app = self._app(client_id)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            # A web app that has a secret must send it; an app without one is a public client.
            confidential = self._authenticate(app, secret, public=not app.secrets)
            code = self.grants.redeem_code(
                form.get("code", ""),
                client_id,
                form.get("redirect_uri", ""),
                form.get("code_verifier", ""),
                self._now(),
            )
            return self._person(app, code.person, code.scopes, code.nonce, confidential)
        if grant_type == "refresh_token":
            refresh = self.grants.refresh(form.get("refresh_token", ""), client_id)
            self._authenticate(app, secret, public=not refresh.confidential)
            return self._person(app, refresh.person, refresh.scopes, None, refresh.confidential)
        if grant_type == DEVICE_CODE_GRANT:
            confidential = self._authenticate(app, secret, public=app.public_client)
            device = self.grants.poll_device(form.get("device_code", ""), client_id, self._now())
            assert device.person is not None  # an approved grant names its person
            return self._person(app, device.person, device.scopes, None, confidential)
        if grant_type == "client_credentials":
            self._authenticate(app, secret, public=False)
            resource = self._resource(form.get("scope", ""))
            return app_token(self.key, self.issuer, self.tenant_id, resource, app, time.time())
        raise Refused(
            400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )

    def _tenant(self, tenant: str) -> None:
        if not self.knows(tenant):
            raise Refused(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")

    def _app(self, client_id: str) -> AppRegistration:
        app = self.apps.get(client_id)
        if app is None:
            raise Refused(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant_id}'.",
            )
        return app

    @staticmethod
    def _authenticate(app: AppRegistration, secret: str | None, *, public: bool) -> bool:
        """Whether the client authenticated (its secret checked); refused when it must and did
        not."""
        if secret is not None:
            check_secret(app, secret)
            return True
        if public:
            return False
        raise invalid_client(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )

    def _resource(self, scope: str) -> str:
        scopes = scope.split()
        resource = scopes[0].removesuffix("/.default").removeprefix("api://") if scopes else ""
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise Refused(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must "
                "have a scope value with /.default suffixed to the resource identifier.",
            )
        if resource not in self.apps:
            raise Refused(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant.",
            )
        return resource

    def _person(
        self,
        app: AppRegistration,
        person: Person,
        scopes: Sequence[str],
        nonce: str | None,
        confidential: bool,
    ) -> dict[str, Any]:
        response = person_tokens(
            self.key,
            self.issuer,
            self.tenant_id,
            app.client_id,
            person,
            scopes,
            nonce,
            time.time(),
        )
        if "offline_access" in scopes:
            refresh = RefreshGrant(app.client_id, tuple(scopes), person, confidential)
            response["refresh_token"] = self.grants.issue_refresh_token(refresh)
        return response

    def routes(self) -> list[Route]:
        async def authorize(request: Request) -> Response:
            if request.method == "GET":
                params, email = dict(request.query_params), None
            else:
                params = await form_of(request)
                # Posted without a choice: the picker again.
                email = params.get("email", "").strip() or None
            return self.authorize(request.path_params["tenant"], params, email)

        async def devicecode(request: Request) -> Response:
            try:
                return JSONResponse(
                    self.device_code(request.path_params["tenant"], await form_of(request))
                )
            except Refused as refused:
                return refused.response()

        async def device(request: Request) -> Response:
            if request.method == "GET":
                return self.device_page(request.query_params.get("user_code"))
            return self.answer_device(await form_of(request))

        async def logout(request: Request) -> Response:
            return self.logout(dict(request.query_params))

        return [
            Route("/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET", "POST"]),
            Route("/{tenant}/oauth2/v2.0/devicecode", devicecode, methods=["POST"]),
            Route("/{tenant}/oauth2/v2.0/logout", logout, methods=["GET"]),
            Route("/device", device, methods=["GET", "POST"]),
        ]


_UNKNOWN_CODE = "Koden er ukjend, alt brukt eller gått ut. Prøv ein ny frå kommandolinja."
