"""Graph with a real token: a client secret or a certificate through azure-identity and the
unchanged msgraph-sdk, against the emulator's Entra ID (its token endpoint checks the secret, or
the client assertion's signature, thumbprint, audience, issuer, subject and validity)."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.utils import base64url_encode
from pydantic import SecretStr

from devtools.graph_emulator import RunningEmulator, run_emulator
from devtools.graph_emulator.identity import ASSERTION_TYPE, GRAPH_SCOPE, AppRegistration
from services.common.graph import graph_client_for
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.ingest.gateway import ForeignLink, GraphGateway, MailboxGate
from tests.graph_emulator.certificates import Identity
from tests.graph_emulator.conftest import FAST, SHARED, other_host

pytestmark = pytest.mark.integration

CLIENT_ID = "6f1c0d2e-0000-4000-8000-5a6b5e0a0001"
SECRET = "s3cr3t-value~from.entra"
PASSWORD = "pfx-passord"


@dataclass(frozen=True)
class SignedIn:
    """The emulator with Sakspost's app registration: a secret and two certificates (an old and
    a new one, as during a rotation)."""

    emulator: RunningEmulator
    old: Identity
    new: Identity

    def settings(self, **graph: Any) -> Settings:
        return Settings(
            graph_base_url=self.emulator.graph_url,
            graph_tenant_id=self.emulator.emulator.tenant_id,
            graph_client_id=CLIENT_ID,
            graph_authority=self.emulator.login_url,
            graph_authority_ca_file=self.emulator.login_ca,
            **graph,
        )

    @property
    def token_url(self) -> str:
        return f"{self.emulator.login_url}/{self.emulator.emulator.tenant_id}/oauth2/v2.0/token"


@pytest.fixture
async def signed_in(org: Organisation) -> AsyncIterator[SignedIn]:
    old, new = Identity.new("sakspost 2026"), Identity.new("sakspost 2027")
    registration = AppRegistration(CLIENT_ID, (SECRET,), (old.certificate, new.certificate))
    async with run_emulator(org, timings=FAST, app_registration=registration) as running:
        yield SignedIn(running, old, new)


async def graph_answers(settings: Settings) -> None:
    page = await graph_client_for(settings).users.by_user_id(SHARED).messages.get()
    assert page is not None and page.value == []


async def test_graph_refuses_a_request_without_a_token(signed_in: SignedIn) -> None:
    async with httpx.AsyncClient(base_url=signed_in.emulator.graph_url) as http:
        anonymous = await http.get(f"/users/{SHARED}/messages")
        forged = await http.get(
            f"/users/{SHARED}/messages", headers={"Authorization": "Bearer made-up"}
        )
    assert anonymous.status_code == forged.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_a_client_secret_gets_a_token_and_graph_answers(signed_in: SignedIn) -> None:
    await graph_answers(signed_in.settings(graph_client_secret=SecretStr(SECRET)))


@pytest.mark.parametrize("form", ["pem", "encrypted pem", "pkcs12"])
async def test_a_certificate_gets_a_token_and_graph_answers(
    signed_in: SignedIn, tmp_path: Path, form: str
) -> None:
    identity = signed_in.new
    if form == "pem":
        path, password = identity.pem(tmp_path / "graph.pem"), None
    elif form == "encrypted pem":
        path, password = identity.pem(tmp_path / "graph.pem", PASSWORD), SecretStr(PASSWORD)
    else:
        path, password = identity.pkcs12(tmp_path / "graph.pfx", PASSWORD), SecretStr(PASSWORD)
    await graph_answers(
        signed_in.settings(graph_certificate_path=path, graph_certificate_password=password)
    )


async def test_while_a_certificate_is_rotated_both_work(
    signed_in: SignedIn, tmp_path: Path
) -> None:
    # Two processes, one started before the rotation and one after, during the overlap.
    old = signed_in.settings(graph_certificate_path=signed_in.old.pem(tmp_path / "old.pem"))
    new = signed_in.settings(graph_certificate_path=signed_in.new.pem(tmp_path / "new.pem"))
    await graph_answers(old)
    await graph_answers(new)


async def test_a_certificate_the_app_does_not_have_is_refused(
    signed_in: SignedIn, tmp_path: Path
) -> None:
    stranger = Identity.new("not registered").pem(tmp_path / "stranger.pem")
    graph = graph_client_for(signed_in.settings(graph_certificate_path=stranger))
    with pytest.raises(ClientAuthenticationError, match=r"AADSTS700027.*not registered"):
        await graph.users.by_user_id(SHARED).messages.get()


async def test_a_wrong_secret_is_refused_without_showing_it(signed_in: SignedIn) -> None:
    wrong = "wrong-but-still-secret"
    graph = graph_client_for(signed_in.settings(graph_client_secret=SecretStr(wrong)))
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215") as refused:
        await graph.users.by_user_id(SHARED).messages.get()
    assert wrong not in str(refused.value)


def assertion(
    identity: Identity,
    audience: str,
    *,
    algorithm: str = "PS256",
    thumbprint: str = "x5t#S256",
    valid_from: int = 0,
    valid_for: int = 600,
    signed_by: rsa.RSAPrivateKey | None = None,
    **claims: str,
) -> str:
    """A client assertion as azure-identity builds it (times in seconds from now), with `claims`
    replacing its own."""
    nbf = int(time.time()) + valid_from
    digest = hashes.SHA256() if thumbprint == "x5t#S256" else hashes.SHA1()
    named = base64url_encode(identity.certificate.fingerprint(digest)).decode()
    body = {"aud": audience, "iss": CLIENT_ID, "sub": CLIENT_ID, "jti": str(nbf)}
    return jwt.encode(
        {**body, "nbf": nbf, "exp": nbf + valid_for, **claims},
        signed_by or identity.key,
        algorithm=algorithm,
        headers={thumbprint: named},
    )


@dataclass(frozen=True)
class Case:
    changes: dict[str, Any]
    code: int  # the AADSTS code the assertion earns; 0: a token
    stranger_signs: bool = False


ASSERTIONS = {
    "good (PS256, x5t#S256)": Case({}, 0),
    "good (RS256, x5t: older clients)": Case({"algorithm": "RS256", "thumbprint": "x5t"}, 0),
    "expired": Case({"valid_from": -7200, "valid_for": 3600}, 700024),
    "not yet valid": Case({"valid_from": 3600}, 700024),
    "for another audience": Case({"aud": "https://login.microsoftonline.com/x/token"}, 50013),
    "issued by another app": Case({"iss": "another-app"}, 700021),
    "about another app": Case({"sub": "another-app"}, 700021),
    "signed by another key": Case({}, 700027, stranger_signs=True),
}


@pytest.mark.parametrize("name", list(ASSERTIONS))
async def test_the_token_endpoint_checks_every_part_of_a_client_assertion(
    signed_in: SignedIn, name: str
) -> None:
    case = ASSERTIONS[name]
    signer = Identity.new("stranger").key if case.stranger_signs else None
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "scope": GRAPH_SCOPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(
            signed_in.new, signed_in.token_url, signed_by=signer, **case.changes
        ),
    }
    trust = ssl.create_default_context(cafile=signed_in.emulator.login_ca)
    async with httpx.AsyncClient(verify=trust) as http:
        answer = await http.post(signed_in.token_url, data=form)
    if case.code == 0:
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        async with httpx.AsyncClient(base_url=signed_in.emulator.graph_url) as graph:
            authorised = {"Authorization": f"Bearer {token}"}
            assert (await graph.get(f"/users/{SHARED}/messages", headers=authorised)).is_success
    else:
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_client"
        assert answer.json()["error_codes"] == [case.code]
        assert answer.json()["error_description"].startswith(f"AADSTS{case.code}: ")


async def test_no_log_line_holds_the_secret_or_the_certificate_password(
    signed_in: SignedIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await graph_answers(signed_in.settings(graph_client_secret=SecretStr(SECRET)))
    wrong = graph_client_for(signed_in.settings(graph_client_secret=SecretStr("wrong-secret")))
    with pytest.raises(ClientAuthenticationError):
        await wrong.users.by_user_id(SHARED).messages.get()
    certificate = signed_in.new.pkcs12(tmp_path / "graph.pfx", PASSWORD)
    await graph_answers(
        signed_in.settings(
            graph_certificate_path=certificate, graph_certificate_password=SecretStr(PASSWORD)
        )
    )
    # The libraries did log the token requests (at debug and info), just never a secret.
    assert "oauth2/v2.0/token" in caplog.text
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    for secret in (SECRET, "wrong-secret", PASSWORD):
        assert secret not in logged


async def test_the_token_and_the_stored_links_go_to_graph_only(signed_in: SignedIn) -> None:
    # Issue 16, finding 5: a delta link stored in KV pointing to another host got the token.
    settings = signed_in.settings(graph_client_secret=SecretStr(SECRET))
    reported: list[str] = []

    async def report(mailbox: str) -> None:
        reported.append(mailbox)

    async with other_host() as (elsewhere, seen):
        gateway = GraphGateway(graph_client_for(settings), MailboxGate(4), report)
        stolen = f"{elsewhere}/v1.0/users/{SHARED}/mailFolders/inbox/messages/delta?$deltatoken=x"
        with pytest.raises(ForeignLink):
            await gateway.delta_round(SHARED, "inbox", stolen, 10)
        assert seen == [] and reported == [SHARED]
        # The sweep's cursor likewise: the read starts again on Graph.
        assert await gateway.message_page(SHARED, stolen, 10) == ([], None)
        assert seen == [] and reported == [SHARED, SHARED]
        # Below the gateway, the SDK itself adds the token for Graph's host only.
        graph = graph_client_for(settings)
        await graph.users.by_user_id(SHARED).messages.with_url(f"{elsewhere}/v1.0/x").get()
        assert seen == [("/v1.0/x", None)]
    await graph_answers(settings)  # Graph itself still gets the token
