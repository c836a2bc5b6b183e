"""The stand-in against ACOS's contract, its persistence, and its fault switches in the adapter."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.validation.request.exceptions import RequestValidationError

from devtools.websak_standin import RunningStandIn, run_standin
from devtools.websak_standin.runner import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TOKEN
from schemas.vocab import DocumentRole
from services.websak.acos import AcosWebSakArchive
from services.websak.archive import (
    Contact,
    Document,
    PermanentArchiveError,
    TransientArchiveError,
)
from services.websak.config import Placement
from services.websak.tokens import ClientCredentialsToken, StaticToken
from tests.websak.contract import ContractRecorder

RECEPTION = Placement("1051", "900001")
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


async def test_every_route_the_adapter_uses_keeps_the_contract(
    archive: AcosWebSakArchive, recorder: ContractRecorder, standin: RunningStandIn
) -> None:
    journalpost = await archive.create_journalpost(RECEPTION, "Søknad [SP-contract]")
    await archive.add_sender(journalpost, _sender())
    await archive.upload(journalpost, Document(DocumentRole.MAIN, "a.pdf", "application/pdf", b"%"))
    await archive.upload(
        journalpost, Document(DocumentRole.ORIGINAL, "a.eml", "message/rfc822", b"x")
    )
    assert await archive.find_journalpost("1051", "[SP-contract]") == journalpost
    assert len(await archive.contacts(journalpost)) == 1
    await archive.finish(journalpost, ())
    async with httpx.AsyncClient(
        base_url=standin.url, event_hooks={"response": [recorder.on_response]}
    ) as client:
        await client.get("/api/integration/test", headers=AUTH)
        await client.get("/api/integration/sak/1051", headers=AUTH)
        assert (await client.get("/api/integration/sak/1051")).status_code == 401

    assert recorder.validate() == 11
    assert ("GET", "/api/integration/sak/1051/journalposter") in recorder.operations()


def test_the_contract_check_rejects_a_request_outside_the_contract(contract: OpenAPI) -> None:
    recorder = ContractRecorder(contract)
    request = httpx.Request(
        "POST",
        "http://127.0.0.1/api/integration/journalpost/ny",
        json={"sakId": 1, "malJpId": 2, "tittel": "x", "journalposttype": "I"},
        headers=AUTH,
    )
    recorder.exchanges.append((request, httpx.Response(200, json=1, request=request)))
    with pytest.raises(RequestValidationError):
        recorder.validate()


async def test_the_stand_in_refuses_what_websak_refuses(standin: RunningStandIn) -> None:
    async with httpx.AsyncClient(base_url=standin.url, headers=AUTH) as client:
        unknown_field = await client.post(
            "/api/integration/journalpost/ny", json={"sakId": 1051, "malJpId": 900001, "x": 1}
        )
        no_file = await client.post(
            "/api/integration/journalpost/1/dokument/nyttvedlegg", files={"other": ("a", b"1")}
        )
        jp = await client.post(
            "/api/integration/journalpost/ny",
            json={"sakId": 1051, "malJpId": 900001, "tittel": "t"},
        )
        main = f"/api/integration/journalpost/{jp.json()}/dokument/nytthoveddokument"
        first = await client.post(main, files={"file": ("a.pdf", b"1", "application/pdf")})
        second = await client.post(main, files={"file": ("b.pdf", b"2", "application/pdf")})
    assert unknown_field.status_code == 400
    assert no_file.status_code == 400
    assert (first.status_code, second.status_code) == (200, 400)


async def test_the_archive_survives_a_restart(tmp_path: Path) -> None:
    async with (
        run_standin(tmp_path) as first,
        httpx.AsyncClient(base_url=first.url, headers=AUTH) as client,
    ):
        created = await client.post(
            "/api/integration/journalpost/ny",
            json={"sakId": 1011, "malJpId": 900001, "tittel": "Klage [SP-restart]"},
        )
    async with (
        run_standin(tmp_path) as second,
        httpx.AsyncClient(base_url=second.url, headers=AUTH) as client,
    ):
        listed = await client.get("/api/integration/sak/1011/journalposter")
    assert [jp["id"] for jp in listed.json()] == [created.json()]


async def _set_faults(admin: httpx.AsyncClient, **switches: object) -> None:
    response = await admin.put("/_standin/faults", json=switches)
    response.raise_for_status()


async def test_down_is_transient(archive: AcosWebSakArchive, admin: httpx.AsyncClient) -> None:
    await _set_faults(admin, down=True)
    with pytest.raises(TransientArchiveError) as error:
        await archive.find_journalpost("1051", "[SP-x]")
    assert error.value.status == 503
    await admin.delete("/_standin/faults")
    assert await archive.find_journalpost("1051", "[SP-x]") is None


async def test_a_server_error_is_transient_and_passes(
    archive: AcosWebSakArchive, admin: httpx.AsyncClient
) -> None:
    await _set_faults(admin, fail_500=1)
    with pytest.raises(TransientArchiveError) as error:
        await archive.create_journalpost(RECEPTION, "t [SP-500]")
    assert error.value.status == 500
    assert error.value.retryable
    await archive.create_journalpost(RECEPTION, "t [SP-500]")


async def test_slow_beyond_the_timeout_is_transient(
    standin: RunningStandIn, admin: httpx.AsyncClient
) -> None:
    await _set_faults(admin, slow_ms=500)
    async with httpx.AsyncClient(base_url=standin.url, timeout=0.05) as client:
        archive = AcosWebSakArchive(client, StaticToken(DEFAULT_TOKEN))
        with pytest.raises(TransientArchiveError, match="Timeout"):
            await archive.find_journalpost("1051", "[SP-slow]")


async def test_unreachable_is_transient(tmp_path: Path) -> None:
    async with run_standin(tmp_path) as stopped:
        url = stopped.url
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        archive = AcosWebSakArchive(client, StaticToken(DEFAULT_TOKEN))
        with pytest.raises(TransientArchiveError, match="ConnectError"):
            await archive.find_journalpost("1051", "[SP-gone]")


async def test_an_expired_static_token_is_a_refusal(
    archive: AcosWebSakArchive, admin: httpx.AsyncClient
) -> None:
    await _set_faults(admin, expired_token=True)
    with pytest.raises(PermanentArchiveError) as error:
        await archive.find_journalpost("1051", "[SP-token]")
    assert error.value.status == 401
    assert not error.value.retryable


async def test_an_expired_oauth_token_is_renewed(
    standin: RunningStandIn, admin: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=standin.url, timeout=5) as client:
        tokens = ClientCredentialsToken(
            client, standin.token_url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "integration"
        )
        archive = AcosWebSakArchive(client, tokens)
        assert await archive.find_journalpost("1051", "[SP-oauth]") is None
        first = await tokens.token()
        await _set_faults(admin, expired_token=True)
        assert await archive.find_journalpost("1051", "[SP-oauth]") is None
        assert await tokens.token() != first
        assert len(standin.state.tokens.issued) == 1


async def test_wrong_client_credentials_are_a_refusal(standin: RunningStandIn) -> None:
    async with httpx.AsyncClient(base_url=standin.url, timeout=5) as client:
        tokens = ClientCredentialsToken(
            client, standin.token_url, "sakspost", "wrong", "integration"
        )
        with pytest.raises(PermanentArchiveError) as error:
            await AcosWebSakArchive(client, tokens).find_journalpost("1051", "[SP-x]")
    assert error.value.operation == "token"


def _sender() -> Contact:
    return Contact(name="Kari Nordmann", address="kari@example.no", reference="[SP-contract]")
