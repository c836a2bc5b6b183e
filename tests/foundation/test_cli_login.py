"""A command says in one line why it cannot use NATS, and exits non-zero: no login found, a login
refused, or no server within the connect timeout. Each command logs in as the identity it needs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sakspost.cli import app
from services.common.natsserver import NatsServer, free_port

RUNNER = CliRunner()
# Each command, and what it needs of NATS.
COMMANDS = {
    "provision": ["provision"],
    "tail": ["tail", "--count", "1"],
    "cases": ["cases", "list"],
    "personal": ["personal", "list"],
}


def _run(arguments: list[str], environment: dict[str, str]) -> tuple[int, str]:
    # `--data-dir` sets SAKSPOST_DATA_DIR for the command; naming it here makes the runner put
    # the variable back afterwards, so no later test in this process logs in from that folder.
    # `cases` also needs a person's token (issue 19), which only the answering service checks.
    isolated = {
        "SAKSPOST_LANGUAGE": "en",
        "SAKSPOST_DATA_DIR": None,
        "SAKSPOST_TOKEN": "a.person's.token",
        **environment,
    }
    result = RUNNER.invoke(app, arguments, env=isolated)
    return result.exit_code, (result.stdout + result.stderr).strip()


@pytest.mark.parametrize("command", COMMANDS)
def test_without_a_login_it_says_where_it_looked(command: str, tmp_path: Path) -> None:
    code, output = _run(["--data-dir", str(tmp_path), *COMMANDS[command]], {})
    assert code == 1
    assert output.count("\n") == 0, output
    assert "no NATS login for" in output
    assert str(tmp_path / "credentials") in output


@pytest.mark.parametrize("command", COMMANDS)
def test_a_wrong_password_is_refused_in_one_line(command: str, nats_server: NatsServer) -> None:
    environment = {
        "SAKSPOST_NATS_URL": nats_server.url,
        "SAKSPOST_NATS_USER": "operator",
        "SAKSPOST_NATS_PASSWORD": "swrong",
    }
    code, output = _run(COMMANDS[command], environment)
    assert code == 1
    assert (
        output == f"NATS at {nats_server.url} refused the login of operator (check "
        "SAKSPOST_NATS_USER and SAKSPOST_NATS_PASSWORD, or the credentials folder)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_no_server_is_one_line_after_the_connect_timeout(command: str) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    environment = {
        "SAKSPOST_NATS_URL": url,
        "SAKSPOST_NATS_USER": "operator",
        "SAKSPOST_NATS_PASSWORD": "sany",
    }
    code, output = _run(COMMANDS[command], environment)
    assert code == 1
    assert output.startswith(f"cannot reach NATS at {url} within 5 s"), output
    assert output.count("\n") == 0, output


def test_each_command_logs_in_from_the_stacks_credentials(nats_server: NatsServer) -> None:
    """As `sakspost up` leaves them: `--data-dir` finds `credentials/<identity>.env`."""
    data_dir = nats_server.credentials_dir.parent
    code, output = _run(["--data-dir", str(data_dir), "provision"], {})
    assert code == 0, output
    assert "stream:SAKSPOST: unchanged" in output


def test_status_names_the_unreachable_nats_and_fails(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    environment = {
        "SAKSPOST_NATS_URL": url,
        "SAKSPOST_NATS_USER": "operator",
        "SAKSPOST_NATS_PASSWORD": "sany",
    }
    result = RUNNER.invoke(
        app,
        ["status", "--data-dir", str(tmp_path), "--json"],
        env={"SAKSPOST_LANGUAGE": "en", "SAKSPOST_DATA_DIR": None, **environment},
    )
    assert result.exit_code == 1
    (nats,) = [c for c in json.loads(result.stdout.rsplit("]", 1)[0] + "]") if c["name"] == "nats"]
    assert nats["ready"] is False
    assert nats["detail"].startswith(f"cannot reach NATS at {url} within 5 s")
