"""Client credentials for Sakspost's own API: the operator application's token, through the
command line's own code (`sakspost.login.operator_token`, msal's confidential client)."""

from __future__ import annotations

import asyncio

import pytest

from devtools.graph_emulator.oidc_tokens import service_principal_id
from sakspost.login import LoginError, operator_token
from tests.login.conftest import CLIENT_ID, OPERATOR_ID, OPERATOR_ROLES, OPERATOR_SECRET, Login

pytestmark = pytest.mark.integration


async def test_the_operator_app_gets_an_app_token_for_sakspost(login: Login) -> None:
    token = await asyncio.to_thread(operator_token, login.app, OPERATOR_ID, OPERATOR_SECRET)
    claims = await login.verified(token, audience=CLIENT_ID)
    assert claims["idtyp"] == "app"
    assert claims["azp"] == claims["appid"] == OPERATOR_ID
    assert claims["oid"] == service_principal_id(OPERATOR_ID)
    assert claims["roles"] == list(OPERATOR_ROLES)
    assert "preferred_username" not in claims and claims["tid"] == login.tenant


async def test_a_wrong_operator_secret_gets_no_token(login: Login) -> None:
    with pytest.raises(LoginError, match="AADSTS7000215"):
        await asyncio.to_thread(operator_token, login.app, OPERATOR_ID, "wrong")


async def test_client_credentials_are_for_a_registered_api_only(login: Login) -> None:
    async with login.http() as http:
        answer = await http.post(
            f"{login.base}/token",
            data={
                "grant_type": "client_credentials",
                "client_id": OPERATOR_ID,
                "client_secret": OPERATOR_SECRET,
                "scope": "00000000-0000-4000-8000-00000000dead/.default",
            },
        )
    assert answer.status_code == 400 and answer.json()["error_codes"] == [500011]


async def test_the_discovery_document_names_the_sign_in_endpoints(login: Login) -> None:
    async with login.http() as http:
        document = (await http.get(f"{login.issuer}/.well-known/openid-configuration")).json()
    base = login.base
    assert document["device_authorization_endpoint"] == f"{base}/devicecode"
    assert document["end_session_endpoint"] == f"{base}/logout"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "urn:ietf:params:oauth:grant-type:device_code" in document["grant_types_supported"]
    assert {"oid", "preferred_username", "idtyp"} <= set(document["claims_supported"])


async def test_an_unknown_tenant_is_refused(login: Login) -> None:
    async with login.http() as http:
        answer = await http.post(
            f"{login.running.login_url}/other.example/oauth2/v2.0/devicecode",
            data={"client_id": CLIENT_ID},
        )
    assert answer.status_code == 400
    assert answer.json()["error_codes"] == [90002]
