"""The processes of a local Sakspost stack: the five services and the development tools.

`sakspost up` runs every one that exists in this checkout, each as its own process; `sakspost
status` asks each for its readiness. Ports have defaults (docs/design.md, "Running it
locally and on Kubernetes") that flags and the environment override.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

from services.common.credentials import CREDENTIALS_FOLDER
from services.common.settings import DEFAULT_HTTP_PORTS

SERVICE_NAMES = ("ingest", "classifier", "router", "websak", "notifier", "overview")


@dataclass(frozen=True)
class Ports:
    nats: int = 4222
    graph_http: int = 8025
    graph_smtp: int = 2525
    websak_standin: int = 8090
    services: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HTTP_PORTS))
    # The emulator's Entra ID (HTTPS): its discovery document, signing keys and sign-in.
    graph_login: int = 8026


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    args: tuple[str, ...]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    is_service: bool = True

    def argv(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]

    @property
    def ready_url(self) -> str:
        # A service is up when it is working, not merely ready for traffic: /statusz also waits
        # for what it has pending (ingest's subscriptions). The dev tools answer /readyz only.
        path = "/statusz" if self.is_service else "/readyz"
        return f"http://127.0.0.1:{self.port}{path}"


def module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def components(ports: Ports, data_dir: Path, org_config: Path) -> list[Component]:
    """Every component present in this checkout, dev tools first (services depend on them)."""
    found: list[Component] = []
    if module_exists("devtools.graph_emulator.__main__"):
        found.append(
            Component(
                "graph-emulator",
                "devtools.graph_emulator",
                (
                    "--org",
                    str(org_config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports.graph_http),
                    "--smtp-port",
                    str(ports.graph_smtp),
                    "--login-port",
                    str(ports.graph_login),
                    "--data-dir",
                    str(data_dir / "graph-emulator"),
                    "--credentials-dir",
                    str(data_dir / CREDENTIALS_FOLDER),
                    # The overview's sign-in callback, and its front page to come back to after
                    # signing out.
                    "--redirect-uri",
                    f"http://127.0.0.1:{ports.services['overview']}/auth/callback",
                    "--redirect-uri",
                    f"http://127.0.0.1:{ports.services['overview']}/",
                ),
                ports.graph_http,
                is_service=False,
            )
        )
    if module_exists("devtools.websak_standin.__main__"):
        found.append(
            Component(
                "websak-standin",
                "devtools.websak_standin",
                (
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports.websak_standin),
                    "--data-dir",
                    str(data_dir / "websak-standin"),
                ),
                ports.websak_standin,
                is_service=False,
            )
        )
    for name in SERVICE_NAMES:
        if module_exists(f"services.{name}.__main__"):
            port = ports.services[name]
            found.append(
                Component(name, f"services.{name}", (), port, env={"SAKSPOST_HTTP_PORT": str(port)})
            )
    return found
