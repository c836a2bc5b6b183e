"""The device code flow (RFC 8628) with the real msal against the emulator's Entra ID, the
person approving on its /device page through an HTTP client, as in a browser."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import msal
import pytest

from devtools.graph_emulator.device_approval import ApprovalRefused, approve_device_code
from devtools.graph_emulator.grants import DEVICE_CODE_SECONDS
from sakspost.login import device_login, person_token
from services.common.msalhttp import MsalHttpClient
from tests.login.conftest import CLIENT_ID, OPERATOR_ID, STAFF, Login

pytestmark = pytest.mark.integration


@pytest.fixture
def session(login: Login) -> Iterator[MsalHttpClient]:
    """msal's HTTP client, closed before the emulator stops."""
    with MsalHttpClient(login.running.login_ca) as http:
        yield http


def public_client(login: Login, session: MsalHttpClient) -> Any:
    return msal.PublicClientApplication(
        CLIENT_ID,
        authority=f"{login.running.login_url}/{login.tenant}",
        instance_discovery=False,
        http_client=session,
    )


async def start(login: Login, session: MsalHttpClient) -> tuple[Any, dict[str, Any]]:
    # msal blocks (and the emulator runs on this loop): every call of it runs in a thread.
    client = await asyncio.to_thread(public_client, login, session)
    flow = await asyncio.to_thread(client.initiate_device_flow, scopes=[])
    assert "user_code" in flow, flow
    return client, flow


async def poll_once(client: Any, flow: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(
        client.acquire_token_by_device_flow, flow, exit_condition=lambda _: True
    )
    return result


async def test_an_approved_device_code_gives_an_id_token_the_jwks_verifies(
    login: Login, session: MsalHttpClient
) -> None:
    client, flow = await start(login, session)
    assert flow["verification_uri"] == f"{login.running.login_url}/device"
    assert (await poll_once(client, flow))["error"] == "authorization_pending"

    async with login.http() as http:
        page = await http.get(flow["verification_uri"], params={"user_code": flow["user_code"]})
        assert page.status_code == 200 and "Hilde Sørbø" in page.text
        assert '<label for="other">' in page.text  # another address can be typed in
    await asyncio.to_thread(
        approve_device_code,
        flow["verification_uri"],
        flow["user_code"],
        STAFF,
        login.running.login_ca,
    )
    result = await poll_once(client, flow)

    claims = await login.verified(result["id_token"])
    assert claims["oid"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "sakspost-staff:" + STAFF))
    assert claims["preferred_username"] == STAFF
    assert claims["name"] == "Hilde Sørbø"
    assert claims["tid"] == login.tenant and claims["ver"] == "2.0"
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    access = await login.verified(result["access_token"])
    assert access["oid"] == claims["oid"] and "scp" in access
    assert result["refresh_token"] and result["token_type"] == "Bearer"


async def test_someone_not_on_staff_signs_in_under_their_own_address(login: Login) -> None:
    token = await asyncio.to_thread(
        device_login,
        login.app,
        None,
        lambda uri, code: approve_device_code(uri, code, "Ola@Example.org", login.running.login_ca),
    )
    claims = await login.verified(token)
    assert claims["preferred_username"] == "Ola@Example.org"
    assert claims["oid"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "sakspost-staff:ola@example.org"))


async def test_polling_faster_than_the_interval_is_told_to_slow_down(
    login: Login, session: MsalHttpClient
) -> None:
    client, flow = await start(login, session)
    assert (await poll_once(client, flow))["error"] == "authorization_pending"
    assert (await poll_once(client, flow))["error"] == "slow_down"


async def test_a_declined_sign_in_is_access_denied(login: Login, session: MsalHttpClient) -> None:
    client, flow = await start(login, session)
    async with login.http() as http:
        page = await http.post(
            flow["verification_uri"], data={"user_code": flow["user_code"], "decline": "1"}
        )
    assert page.status_code == 200
    assert (await poll_once(client, flow))["error"] == "access_denied"


async def test_an_expired_device_code_is_expired_token(
    login: Login, session: MsalHttpClient
) -> None:
    client, flow = await start(login, session)
    login.running.emulator.clock.advance(DEVICE_CODE_SECONDS + 1)
    with pytest.raises(ApprovalRefused):
        await asyncio.to_thread(
            approve_device_code,
            flow["verification_uri"],
            flow["user_code"],
            STAFF,
            login.running.login_ca,
        )
    assert (await poll_once(client, flow))["error"] == "expired_token"


async def test_a_device_code_is_not_redeemed_without_a_secret_unless_public_flows_are_allowed(
    login: Login,
) -> None:
    # The operator app has a secret and no public-client flows.
    async with login.http() as http:
        started = await http.post(f"{login.base}/devicecode", data={"client_id": OPERATOR_ID})
        device_code = started.json()["device_code"]
        polled = await http.post(
            f"{login.base}/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": OPERATOR_ID,
                "device_code": device_code,
            },
        )
    assert polled.status_code == 401 and polled.json()["error_codes"] == [7000218]


async def test_the_cached_sign_in_is_refreshed_silently_near_its_expiry(
    login: Login, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "sakspost" / "token-cache.json"
    first = await asyncio.to_thread(
        device_login,
        login.app,
        cache,
        lambda uri, code: approve_device_code(uri, code, STAFF, login.running.login_ca),
    )
    assert cache.stat().st_mode & 0o777 == 0o600
    assert await asyncio.to_thread(person_token, login.app, cache) == first
    # Every token now counts as near its expiry: the next one comes from the refresh token.
    monkeypatch.setattr("sakspost.login.FRESH_FOR_SECONDS", 7200)
    refreshed = await asyncio.to_thread(person_token, login.app, cache)
    assert refreshed != first
    assert (await login.verified(refreshed))["preferred_username"] == STAFF
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", refreshed)
