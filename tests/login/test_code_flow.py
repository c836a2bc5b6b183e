"""The authorization code flow with PKCE: msal's confidential client (as a web app such as the
overview signs people in) against the emulator's account picker, driven by an HTTP client as a
browser would; and each way the emulator refuses a request."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msal
import pytest

from services.common.msalhttp import MsalHttpClient
from tests.login.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, STAFF, Login

pytestmark = pytest.mark.integration


@pytest.fixture
async def web_app(login: Login) -> AsyncIterator[Any]:
    """The overview's side of the flow: msal's confidential client with the app's secret (made
    in a thread: msal blocks, and the emulator runs on this loop)."""
    with MsalHttpClient(login.running.login_ca) as http:
        yield await asyncio.to_thread(
            msal.ConfidentialClientApplication,
            CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=f"{login.running.login_url}/{login.tenant}",
            instance_discovery=False,
            http_client=http,
        )


async def choose(login: Login, auth_uri: str, email: str) -> dict[str, str]:
    """Open the login page, press the person's button; the query the browser comes back with."""
    async with login.http() as http:
        page = await http.get(auth_uri)
        assert page.status_code == 200 and f'value="{email}"' in page.text
        fields = dict(parse_qs(urlsplit(auth_uri).query))
        form = {name: values[0] for name, values in fields.items() if name != "prompt"}
        answer = await http.post(auth_uri.split("?")[0], data={**form, "email": email})
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


async def code_for(login: Login, web_app: Any) -> tuple[dict[str, Any], dict[str, str]]:
    flow = await asyncio.to_thread(
        web_app.initiate_auth_code_flow, scopes=[], redirect_uri=REDIRECT_URI
    )
    return flow, await choose(login, flow["auth_uri"], STAFF)


async def redeem(login: Login, **form: str) -> httpx.Response:
    async with login.http() as http:
        return await http.post(
            f"{login.base}/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uri": REDIRECT_URI,
                **form,
            },
        )


async def test_a_person_chosen_on_the_login_page_gets_tokens_for_the_app(
    login: Login, web_app: Any
) -> None:
    flow, answer = await code_for(login, web_app)
    assert answer["state"] == flow["state"]
    # msal checks the state, sends the PKCE verifier and checks the ID token's nonce.
    result = await asyncio.to_thread(web_app.acquire_token_by_auth_code_flow, flow, answer)
    assert "id_token" in result, result
    claims = await login.verified(result["id_token"])
    # msal sends the nonce's SHA-256 and has compared the ID token's with it.
    assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert claims["preferred_username"] == STAFF and claims["name"] == "Hilde Sørbø"

    refreshed = await asyncio.to_thread(
        web_app.acquire_token_by_refresh_token, result["refresh_token"], scopes=[]
    )
    assert (await login.verified(refreshed["id_token"]))["oid"] == claims["oid"]


async def test_a_wrong_pkce_verifier_is_refused(login: Login, web_app: Any) -> None:
    flow, answer = await code_for(login, web_app)
    refused = await redeem(login, code=answer["code"], code_verifier=flow["code_verifier"] + "x")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert refused.json()["error_codes"] == [501481]


async def test_a_code_is_redeemed_once_only(login: Login, web_app: Any) -> None:
    flow, answer = await code_for(login, web_app)
    first = await redeem(login, code=answer["code"], code_verifier=flow["code_verifier"])
    assert first.status_code == 200 and "id_token" in first.json()
    again = await redeem(login, code=answer["code"], code_verifier=flow["code_verifier"])
    assert again.status_code == 400 and again.json()["error_codes"] == [54005]


async def test_a_code_older_than_ten_minutes_is_refused(login: Login, web_app: Any) -> None:
    flow, answer = await code_for(login, web_app)
    login.running.emulator.clock.advance(601)
    late = await redeem(login, code=answer["code"], code_verifier=flow["code_verifier"])
    assert late.status_code == 400 and late.json()["error_codes"] == [70008]


async def test_a_confidential_app_must_send_its_secret(login: Login, web_app: Any) -> None:
    flow, answer = await code_for(login, web_app)
    wrong = await redeem(
        login, code=answer["code"], code_verifier=flow["code_verifier"], client_secret="wrong"
    )
    assert wrong.status_code == 401 and wrong.json()["error_codes"] == [7000215]
    flow, answer = await code_for(login, web_app)
    async with login.http() as http:
        none = await http.post(
            f"{login.base}/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "code": answer["code"],
                "code_verifier": flow["code_verifier"],
            },
        )
    assert none.status_code == 401 and none.json()["error_codes"] == [7000218]


def authorize_query(**changes: str) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"redirect_uri": "http://127.0.0.1:8085/elsewhere"}, "AADSTS50011"),
        ({"redirect_uri": "https://attacker.example/auth/callback"}, "AADSTS50011"),
        ({"client_id": "00000000-0000-4000-8000-000000000000"}, "AADSTS700016"),
    ],
)
async def test_an_unknown_client_or_redirect_uri_gets_an_error_page_not_a_redirect(
    login: Login, changes: dict[str, str], code: str
) -> None:
    async with login.http() as http:
        for method in ("GET", "POST"):
            query = authorize_query(**changes)
            if method == "GET":
                page = await http.get(f"{login.base}/authorize", params=query)
            else:
                page = await http.post(f"{login.base}/authorize", data={**query, "email": STAFF})
            assert page.status_code == 400, method
            assert "location" not in page.headers
            assert code in page.text and page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"prompt": "none"}, "login_required"),
    ],
)
async def test_a_bad_request_from_a_registered_app_goes_back_with_an_error(
    login: Login, changes: dict[str, str], error: str
) -> None:
    async with login.http() as http:
        answer = await http.get(f"{login.base}/authorize", params=authorize_query(**changes))
    assert answer.status_code == 303
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["error"] == [error] and back["state"] == ["s1"]


async def test_the_login_page_lists_the_staff_with_labelled_controls(login: Login) -> None:
    async with login.http() as http:
        page = await http.get(f"{login.base}/authorize", params=authorize_query())
    assert page.status_code == 200
    assert '<html lang="nn">' in page.text
    assert page.text.count('<button type="submit" name="email"') == len(
        login.running.emulator.org.staff
    )
    assert '<label for="other">Anna adresse</label>' in page.text


async def test_logout_goes_back_to_registered_addresses_only(login: Login) -> None:
    async with login.http() as http:
        back = await http.get(
            f"{login.base}/logout", params={"post_logout_redirect_uri": REDIRECT_URI}
        )
        elsewhere = await http.get(
            f"{login.base}/logout",
            params={"post_logout_redirect_uri": "https://attacker.example/"},
        )
    assert back.status_code == 303 and back.headers["location"] == REDIRECT_URI
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
