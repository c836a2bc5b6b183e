"""The Kubernetes NATS values carry exactly the permission declaration the local stack runs with
(R13 included: nobody may delete or purge a stream), and every password they reference reaches the
NATS container from the Secret. `make lint` also boots nats-server with them (devtools.natschart).
"""

from __future__ import annotations

from typing import Any

import yaml

from devtools.natschart.values import USERS_SECRET_NAME, VALUES_FILE, is_current, unquoted
from services.common.natsconfig import LOGINS, MAX_PAYLOAD, accounts, password_variable
from services.common.permissions import (
    ACCOUNT,
    IDENTITIES,
    SYSTEM_ACCOUNT,
    identity,
    may_publish,
)


def _values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(VALUES_FILE.read_text(encoding="utf-8"))
    return loaded


def test_the_values_file_is_generated_from_the_declaration() -> None:
    assert is_current(), "stale: run python -m devtools.natschart --write"


def test_the_chart_accounts_are_the_local_accounts() -> None:
    merge = _values()["config"]["merge"]
    assert merge["accounts"] == accounts(lambda login: unquoted(f"${password_variable(login)}"))
    assert merge["system_account"] == SYSTEM_ACCOUNT
    assert merge["max_payload"] == unquoted(MAX_PAYLOAD)
    users = {user["user"] for user in merge["accounts"][ACCOUNT]["users"]}
    assert users == {i.name for i in IDENTITIES}
    assert all("no_auth_user" not in account for account in merge["accounts"].values())


def test_every_referenced_password_comes_from_the_secret() -> None:
    environment = _values()["container"]["env"]
    for login in LOGINS:
        source = environment[password_variable(login)]["valueFrom"]["secretKeyRef"]
        assert source == {"name": USERS_SECRET_NAME, "key": login}


def test_a_publish_is_acknowledged_only_once_on_disk_and_replicated_thrice() -> None:
    config = _values()["config"]
    assert config["jetstream"]["merge"]["sync_interval"] == "always"
    assert config["cluster"]["enabled"] and config["cluster"]["replicas"] == 3
    assert config["nats"]["tls"]["enabled"] and config["cluster"]["tls"]["enabled"]


def test_nobody_may_delete_or_purge_and_only_admin_may_reconfigure() -> None:  # R13
    for who in IDENTITIES:
        assert not may_publish(who, "$JS.API.STREAM.DELETE.SAKSPOST"), who.name
        assert not may_publish(who, "$JS.API.STREAM.PURGE.OBJ_sakspost_mime"), who.name
        assert not may_publish(who, "$JS.API.STREAM.MSG.DELETE.SAKSPOST"), who.name
        reconfigures = may_publish(who, "$JS.API.STREAM.UPDATE.SAKSPOST")
        assert reconfigures == (who.name == "admin"), who.name


def test_only_the_operator_and_the_overview_may_send_commands() -> None:
    senders = {who.name for who in IDENTITIES if may_publish(who, "sakspost.cmd.assign")}
    assert senders == {"operator", "overview"}
    assert may_publish(identity("integrator"), "$JS.API.CONSUMER.MSG.NEXT.SAKSPOST.integrator-x")
    assert not may_publish(identity("integrator"), "$JS.API.CONSUMER.MSG.NEXT.SAKSPOST.router")
