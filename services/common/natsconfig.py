"""nats-server configuration rendered from the permission declaration (`permissions.py`).

The same `accounts` block serves the local stack, the test suite and the Kubernetes NATS chart
(`deploy/nats/values.yaml`): one account `SAKSPOST` with JetStream and one user per identity, and
the system account `SYS`. Passwords are never written into a configuration: each is the
environment variable `password_variable(identity)`, which the local supervisor sets from the
generated credentials and Kubernetes from a Secret. No user is anonymous (`no_auth_user` is unset),
so a connection without a login is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.permissions import (
    ACCOUNT,
    IDENTITIES,
    SYSTEM_ACCOUNT,
    SYSTEM_USER,
    nats_permissions,
)

# One limit everywhere: the largest message is an Object Store chunk or an event, far below it.
MAX_PAYLOAD = "8MB"
CLUSTER_NAME = "sakspost"
# Every login a server knows: the identities, plus the system account's own user.
LOGINS = (*(identity.name for identity in IDENTITIES), SYSTEM_USER)


def password_variable(login: str) -> str:
    return f"NATS_{login.upper()}_PASSWORD"


def accounts(password: Any = None) -> dict[str, Any]:
    """The `accounts` block; `password(login)` renders each password reference."""
    reference = password or (lambda login: f"${password_variable(login)}")
    users = [
        {
            "user": identity.name,
            "password": reference(identity.name),
            "permissions": nats_permissions(identity),
        }
        for identity in IDENTITIES
    ]
    return {
        ACCOUNT: {"jetstream": "enabled", "users": users},
        SYSTEM_ACCOUNT: {"users": [{"user": SYSTEM_USER, "password": reference(SYSTEM_USER)}]},
    }


@dataclass(frozen=True)
class NodeConfig:
    """One nats-server node on loopback (or any host) with its own store."""

    name: str
    host: str
    client_port: int
    store_dir: Path
    monitor_port: int | None = None
    route_port: int | None = None


def server_config(node: NodeConfig, peers: tuple[NodeConfig, ...] = ()) -> str:
    """The node's configuration file; with peers, a JetStream cluster of all of them."""
    lines = [
        f"server_name: {json.dumps(node.name)}",
        f"listen: {json.dumps(f'{node.host}:{node.client_port}')}",
        f"max_payload: {MAX_PAYLOAD}",
        # sync_interval: always - a publish is acknowledged only once it is on disk (R13: nothing
        # lost in a crash), as in the Kubernetes cluster.
        "jetstream {",
        f"  store_dir: {json.dumps(str(node.store_dir))}",
        "  sync_interval: always",
        "}",
    ]
    if node.monitor_port is not None:
        lines.append(f"http: {json.dumps(f'{node.host}:{node.monitor_port}')}")
    if peers:
        routes = [f"nats-route://{p.host}:{p.route_port}" for p in peers if p.name != node.name]
        lines += [
            "cluster {",
            f"  name: {CLUSTER_NAME}",
            f"  listen: {json.dumps(f'{node.host}:{node.route_port}')}",
            f"  routes: {json.dumps(routes)}",
            "}",
        ]
    lines += [
        f"accounts: {_conf_value(accounts())}",
        f"system_account: {SYSTEM_ACCOUNT}",
    ]
    return "\n".join(lines) + "\n"


def _conf_value(value: Any) -> str:
    """JSON, except that `$VARIABLE` strings stay unquoted: nats-server substitutes those."""
    if isinstance(value, str) and value.startswith("$NATS_"):
        return value
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(k)}: {_conf_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_conf_value(v) for v in value) + "]"
    return json.dumps(value)
