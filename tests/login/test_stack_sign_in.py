"""`sakspost up` registers Sakspost's app and the operator application in the emulator's Entra
ID: the overview's redirect URI on its port, the secrets in the credentials folder, the sign-in
settings for the services and the command line; `tests.support.signin` signs in against it."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from devtools.graph_emulator.emulator import APPLICATION_ID, OPERATOR_APPLICATION_ID
from devtools.graph_emulator.local_apps import APP_FILE, OPERATOR_APP_FILE
from services.common.credentials import CREDENTIALS_FOLDER, read_env_file
from tests.support.signin import id_token_for, operator_token_for
from tests.support.stack import running_stack

pytestmark = pytest.mark.integration


async def test_the_stack_signs_people_and_the_operator_app_in(tmp_path: Path) -> None:
    async with running_stack(tmp_path / "stack") as stack:
        credentials = stack.data_dir / CREDENTIALS_FOLDER
        for name in (APP_FILE, OPERATOR_APP_FILE, "sign-in.env"):
            assert (credentials / name).stat().st_mode & 0o777 == 0o600, name
        sign_in = read_env_file(credentials / "sign-in.env")
        assert sign_in["SAKSPOST_AUTH_CLIENT_ID"] == APPLICATION_ID

        token = await id_token_for(stack, "marit.grodem@ha.kommune.no")
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["aud"] == APPLICATION_ID
        assert claims["preferred_username"] == "marit.grodem@ha.kommune.no"
        assert claims["iss"].endswith(f"/{sign_in['SAKSPOST_AUTH_TENANT_ID']}/v2.0")
        app = jwt.decode(await operator_token_for(stack), options={"verify_signature": False})
        assert app["idtyp"] == "app" and app["azp"] == OPERATOR_APPLICATION_ID

        # The overview's callback on its port is registered; the login page answers for it.
        callback = f"http://127.0.0.1:{stack.port('SAKSPOST_OVERVIEW_PORT')}/auth/callback"
        query = {
            "client_id": APPLICATION_ID,
            "response_type": "code",
            "redirect_uri": callback,
            "scope": "openid",
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
        context = ssl.create_default_context(cafile=sign_in["SAKSPOST_GRAPH_AUTHORITY_CA_FILE"])
        authorize = (
            f"{sign_in['SAKSPOST_GRAPH_AUTHORITY']}/"
            f"{sign_in['SAKSPOST_AUTH_TENANT_ID']}/oauth2/v2.0/authorize"
        )
        async with httpx.AsyncClient(verify=context, trust_env=False) as http:
            answer = await http.post(authorize, data={**query, "email": "rune.bo@ha.kommune.no"})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(callback + "?")
        assert parse_qs(urlsplit(answer.headers["location"]).query)["state"] == ["s"]
