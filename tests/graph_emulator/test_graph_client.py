"""The Graph client factory: emulator base URL, immutable ids asked for, configuration errors
(the app registration's settings: exactly one credential, a certificate that loads)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from pydantic import SecretStr

from devtools.graph_emulator import RunningEmulator
from services.common.graph import graph_client_for, graph_root, is_graph_link, make_graph_client
from services.common.settings import (
    ClientCertificate,
    ClientSecret,
    GraphApp,
    Settings,
    SettingsError,
    load_settings,
)
from tests.graph_emulator.certificates import Identity
from tests.graph_emulator.conftest import SHARED

SECRET, PASSWORD = "hemmeleg-verdi", "passord-verdi"


async def test_every_request_asks_for_immutable_ids(
    emulator: RunningEmulator, admin: httpx.AsyncClient
) -> None:
    graph = make_graph_client(emulator.graph_url)
    await graph.users.by_user_id(SHARED).messages.get()
    config = RequestConfiguration()
    config.headers.add("Prefer", "odata.maxpagesize=5")
    await (
        graph.users.by_user_id(SHARED)
        .mail_folders.by_mail_folder_id("inbox")
        .messages.delta.get(config)
    )
    prefers = [
        entry["prefer"] for entry in (await admin.get("/_emulator/requests")).json()["recent"]
    ]
    assert prefers == ['IdType="ImmutableId"', 'odata.maxpagesize=5, IdType="ImmutableId"']


def test_a_client_needs_a_base_url_or_an_app_registration() -> None:
    with pytest.raises(SettingsError, match=r"SAKSPOST_GRAPH_BASE_URL.*SAKSPOST_GRAPH_TENANT_ID"):
        graph_client_for(Settings())
    app = GraphApp("tenant", "client", ClientSecret(SecretStr("s")))
    assert make_graph_client(None, app=app) is not None


def test_no_graph_settings_mean_no_app_registration() -> None:
    assert Settings().graph_app() is None
    assert graph_client_for(Settings(graph_base_url="http://127.0.0.1:8025/v1.0")) is not None


def test_the_settings_describe_the_app_registration(tmp_path: Path) -> None:
    secret = Settings(
        graph_tenant_id="t", graph_client_id="c", graph_client_secret=SecretStr("s")
    ).graph_app()
    assert secret == GraphApp("t", "c", ClientSecret(SecretStr("s")))
    certificate = Settings(
        graph_tenant_id="t",
        graph_client_id="c",
        graph_certificate_path=tmp_path / "graph.pem",
        graph_certificate_password=SecretStr("p"),
        graph_authority="https://login.example",
    ).graph_app()
    assert certificate == GraphApp(
        "t",
        "c",
        ClientCertificate(tmp_path / "graph.pem", SecretStr("p")),
        "https://login.example",
    )


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"CLIENT_SECRET": SECRET, "CERTIFICATE_PATH": "/run/graph.pem"},
            "one of SAKSPOST_GRAPH_CLIENT_SECRET or SAKSPOST_GRAPH_CERTIFICATE_PATH, not both",
        ),
        (
            {"CLIENT_SECRET": SECRET, "CERTIFICATE_PASSWORD": PASSWORD},
            "SAKSPOST_GRAPH_CERTIFICATE_PASSWORD is set without a certificate",
        ),
        (
            {"TENANT_ID": "t", "CLIENT_ID": "c"},
            "unset: SAKSPOST_GRAPH_CLIENT_SECRET or SAKSPOST_GRAPH_CERTIFICATE_PATH",
        ),
        (
            {"CLIENT_SECRET": SECRET},
            "unset: SAKSPOST_GRAPH_TENANT_ID; SAKSPOST_GRAPH_CLIENT_ID",
        ),
        # A Secret key that is missing often arrives as an empty value: it counts as unset.
        (
            {"TENANT_ID": "t", "CLIENT_ID": "c", "CLIENT_SECRET": ""},
            "unset: SAKSPOST_GRAPH_CLIENT_SECRET or SAKSPOST_GRAPH_CERTIFICATE_PATH",
        ),
        (
            {"TENANT_ID": "t", "CLIENT_ID": "c", "CERTIFICATE_PATH": ""},
            "unset: SAKSPOST_GRAPH_CLIENT_SECRET or SAKSPOST_GRAPH_CERTIFICATE_PATH",
        ),
    ],
)
def test_a_graph_credential_is_exactly_one_of_secret_or_certificate(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(f"SAKSPOST_GRAPH_{name}", value)
    with pytest.raises(SettingsError, match=message) as refused:
        load_settings()
    assert SECRET not in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_a_certificate_that_does_not_load_names_the_setting(tmp_path: Path) -> None:
    def client(path: Path, password: str | None = None) -> object:
        settings = Settings(
            graph_tenant_id="t",
            graph_client_id="c",
            graph_certificate_path=path,
            graph_certificate_password=SecretStr(password) if password else None,
        )
        return graph_client_for(settings)

    with pytest.raises(SettingsError, match="SAKSPOST_GRAPH_CERTIFICATE_PATH: cannot read"):
        client(tmp_path / "missing.pem")
    encrypted = Identity.new("sakspost").pem(tmp_path / "graph.pem", "rett-passord")
    with pytest.raises(SettingsError, match="SAKSPOST_GRAPH_CERTIFICATE_PASSWORD") as refused:
        client(encrypted, "feil-passord")
    assert "feil-passord" not in str(refused.value)
    (tmp_path / "empty.pem").write_text("no certificate here")
    with pytest.raises(SettingsError, match="holds no usable certificate"):
        client(tmp_path / "empty.pem")


ROOT = "https://graph.microsoft.com/v1.0"


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        (f"{ROOT}/users/a/mailFolders/inbox/messages/delta?$deltatoken=x", True),
        ("https://graph.microsoft.com:443/v1.0/users/a/messages?$skiptoken=y", True),
        ("https://evil.example/v1.0/users/a/messages/delta?$deltatoken=x", False),
        ("https://graph.microsoft.com.evil.example/v1.0/users/a/messages", False),
        ("http://graph.microsoft.com/v1.0/users/a/messages", False),
        ("https://graph.microsoft.com:8443/v1.0/users/a/messages", False),
        ("https://graph.microsoft.com/beta/users/a/messages", False),
        ("https://graph.microsoft.com/v1.0/../beta/users", False),
        ("https://user:pw@graph.microsoft.com/v1.0/users/a/messages", False),
        ("//evil.example/v1.0/users", False),
        ("not a link at all", False),
    ],
)
def test_a_stored_link_is_followed_only_under_the_graph_root(link: str, followed: bool) -> None:
    # Issue 16, finding 5: a link from KV elsewhere would receive the app's bearer token.
    assert is_graph_link(link, ROOT) is followed


def test_the_graph_root_comes_from_the_settings_in_one_place() -> None:
    assert graph_root(None) == ROOT
    assert graph_root("http://127.0.0.1:8025/v1.0/") == "http://127.0.0.1:8025/v1.0"
