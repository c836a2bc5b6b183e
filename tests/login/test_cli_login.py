"""`sakspost login`, `whoami` and `logout` as a person runs them, against the emulator's Entra
ID: the device code typed in on its page (here by an HTTP client), `--as` for tests and the
demo, the token cache in XDG_CACHE_HOME readable by its owner only, and the operator app."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from devtools.graph_emulator.device_approval import approve_device_code
from services.common.settings import REPO_ROOT
from tests.login.conftest import CLIENT_ID, OPERATOR_ID, OPERATOR_SECRET, STAFF, Login

pytestmark = pytest.mark.integration


def cli_env(login: Login, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SAKSPOST_OPERATOR_")
    }
    env.update(
        SAKSPOST_LANGUAGE="en",
        SAKSPOST_DATA_DIR=str(tmp_path / "data"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        SAKSPOST_AUTH_TENANT_ID=login.tenant,
        SAKSPOST_AUTH_CLIENT_ID=CLIENT_ID,
        SAKSPOST_GRAPH_AUTHORITY=login.running.login_url,
        SAKSPOST_GRAPH_AUTHORITY_CA_FILE=str(login.running.login_ca),
        **extra,
    )
    return env


async def sakspost(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sakspost",
        *args,
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_a_person_logs_in_with_the_code_shown_and_is_remembered(
    login: Login, tmp_path: Path
) -> None:
    env = cli_env(login, tmp_path)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sakspost",
        "login",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    shown = re.search(r"Open (\S+) in a web browser and enter the code (\w+)", line)
    assert shown is not None, line
    await asyncio.to_thread(approve_device_code, shown[1], shown[2], STAFF, login.running.login_ca)
    rest, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, rest.decode()
    assert f"Signed in as Hilde Sørbø <{STAFF}>" in rest.decode()

    cache = tmp_path / "cache" / "sakspost" / "token-cache.json"
    assert cache.stat().st_mode & 0o777 == 0o600
    assert await sakspost(env, "whoami") == (0, f"Hilde Sørbø <{STAFF}>\n")
    assert await sakspost(env, "logout") == (0, "You are signed out\n")
    code, said = await sakspost(env, "whoami")
    assert code == 1 and "run `sakspost login`" in said


async def test_login_as_signs_in_without_a_person_at_the_keyboard(
    login: Login, tmp_path: Path
) -> None:
    env = cli_env(login, tmp_path)
    code, said = await sakspost(env, "login", "--as", "siri.vold@ha.kommune.no")
    assert code == 0 and "Signed in as Siri Vold" in said
    assert await sakspost(env, "whoami") == (0, "Siri Vold <siri.vold@ha.kommune.no>\n")


async def test_the_operator_app_is_who_the_commands_run_as_when_its_secret_is_set(
    login: Login, tmp_path: Path
) -> None:
    env = cli_env(
        login,
        tmp_path,
        SAKSPOST_OPERATOR_CLIENT_ID=OPERATOR_ID,
        SAKSPOST_OPERATOR_CLIENT_SECRET=OPERATOR_SECRET,
    )
    assert await sakspost(env, "whoami") == (0, f"the operator application {OPERATOR_ID}\n")
    del env["SAKSPOST_OPERATOR_CLIENT_SECRET"]
    code, said = await sakspost(env, "whoami")
    assert code == 1 and "Set both SAKSPOST_OPERATOR_CLIENT_ID" in said
