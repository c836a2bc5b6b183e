"""`python -m devtools.natschart [--write]`: is deploy/nats/values.yaml current, and does it boot?

Without `--write` (as `make lint` runs it): fail if the values differ from what the permission
declaration renders; then render the configuration the chart would give each of its three pods
(`render.py`, approximations printed), boot three nats-server processes with it, TLS included,
provision Sakspost's whole layout replicated three times as `admin` over TLS, and log in as every
identity. Exits non-zero with the reason on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from devtools.natschart.certificates import write_tls
from devtools.natschart.render import APPROXIMATED, Placement, container_environment, node_config
from devtools.natschart.values import VALUES_FILE, is_current, values_text
from sakspost.registry import full_layout
from services.common.connect import connect_login
from services.common.credentials import NatsLogin, new_password
from services.common.jetstream import provision_when_ready
from services.common.natsconfig import LOGINS, NodeConfig
from services.common.natsserver import NatsNode, free_port
from services.common.orgconfig import load_organisation
from services.common.permissions import IDENTITIES
from services.common.settings import DEFAULT_ORG_CONFIG, Settings


def _nodes(values: dict[str, Any], workdir: Path) -> list[NatsNode]:
    replicas = int(values["config"]["cluster"]["replicas"])
    route_ports = tuple(free_port() for _ in range(replicas))
    nodes = []
    for index in range(replicas):
        placement = Placement(
            index, free_port(), route_ports, free_port(), workdir / f"data-{index}", workdir / "tls"
        )
        config_file = workdir / f"nats-{index}.conf"
        config_file.write_text(node_config(values, placement), encoding="utf-8")
        node = NodeConfig(f"nats-{index}", "127.0.0.1", placement.client_port, placement.store_dir)
        nodes.append(NatsNode(node, config_file, workdir / f"nats-{index}.log"))
    return nodes


async def _provision(urls: list[str], ca_file: Path, secret: dict[str, str]) -> None:
    def login(identity: str) -> NatsLogin:
        return NatsLogin(
            identity, tuple(urls), identity, SecretStr(secret[identity]), None, ca_file
        )

    admin = await connect_login(login("admin"), "chart-check")
    try:
        settings = Settings(stream_replicas=3)
        layout = full_layout(settings, load_organisation(DEFAULT_ORG_CONFIG))
        await provision_when_ready(admin.jetstream(), layout, replicas=3)
        info = await admin.jetstream().stream_info("SAKSPOST")
        assert info.config.num_replicas == 3, info.config.num_replicas
    finally:
        await admin.close()
    for identity in IDENTITIES:
        connection = await connect_login(login(identity.name), f"chart-check-{identity.name}")
        await connection.close()


def boot(values_file: Path) -> None:
    values = yaml.safe_load(values_file.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="sakspost-chart-") as temporary:
        workdir = Path(temporary)
        ca_file = write_tls(workdir / "tls")
        secret = {login: new_password() for login in LOGINS}
        environment = {**os.environ, **container_environment(values, secret)}
        nodes = _nodes(values, workdir)
        try:
            for node in nodes:
                node.start(environment, timeout=15.0)
            urls = [f"tls://127.0.0.1:{node.config.client_port}" for node in nodes]
            asyncio.run(_provision(urls, ca_file, secret))
        except Exception:
            for node in nodes:
                if node.log_file and node.log_file.exists():
                    sys.stderr.write(node.log_file.read_text(encoding="utf-8")[-2000:])
            raise
        finally:
            for node in nodes:
                node.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate deploy/nats/values.yaml")
    arguments = parser.parse_args()
    if arguments.write:
        VALUES_FILE.write_text(values_text(), encoding="utf-8")
        print(f"wrote {VALUES_FILE}")
        return 0
    # asyncio warns on every TLS connection nats-py closes; the check's output stays readable.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    if not is_current():
        print(
            f"{VALUES_FILE} is stale (fix: python -m devtools.natschart --write)", file=sys.stderr
        )
        return 1
    boot(VALUES_FILE)
    print(
        "deploy/nats/values.yaml: current; three nodes booted with the rendered configuration "
        "(TLS, cluster, JetStream, accounts); the layout provisioned with 3 replicas; every "
        f"identity logged in over TLS. Approximated: {'; '.join(APPROXIMATED)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
