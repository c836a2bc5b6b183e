"""The emulator's Entra ID: its token endpoint checks the client assertion's signature,
thumbprint, audience, issuer, subject and validity, and Graph answers only with its token."""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.utils import base64url_encode

from devtools.graph_emulator import RunningEmulator, run_emulator
from devtools.graph_emulator.identity import ASSERTION_TYPE, GRAPH_SCOPE, AppRegistration
from services.common.orgconfig import Organisation
from tests.graph_emulator.certificates import Identity
from tests.graph_emulator.conftest import FAST, SHARED

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

    @property
    def token_url(self) -> str:
        return f"{self.emulator.login_url}/{self.emulator.emulator.tenant_id}/oauth2/v2.0/token"


@pytest.fixture
async def signed_in(org: Organisation) -> AsyncIterator[SignedIn]:
    old, new = Identity.new("sakspost 2026"), Identity.new("sakspost 2027")
    registration = AppRegistration(CLIENT_ID, (SECRET,), (old.certificate, new.certificate))
    async with run_emulator(org, timings=FAST, app_registration=registration) as running:
        yield SignedIn(running, old, new)


async def test_graph_refuses_a_request_without_a_token(signed_in: SignedIn) -> None:
    async with httpx.AsyncClient(base_url=signed_in.emulator.graph_url) as http:
        anonymous = await http.get(f"/users/{SHARED}/messages")
        forged = await http.get(
            f"/users/{SHARED}/messages", headers={"Authorization": "Bearer made-up"}
        )
    assert anonymous.status_code == forged.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"


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
