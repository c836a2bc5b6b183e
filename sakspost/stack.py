"""`sakspost up`: the embedded stack, every component as its own process.

The supervisor starts nats-server with JetStream, provisions it, starts the development tools and
services, restarts a component or a nats-server node that dies (`natskeeper.py`), and on Ctrl-C
or SIGTERM stops them in reverse order (SIGTERM first, so each drains; SIGKILL only after a grace
period), then NATS last: nothing is left running. Children run in their own sessions so that a
terminal's Ctrl-C reaches only the supervisor, which then stops each child exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog

from sakspost.components import Component, Ports, components
from sakspost.login import SIGN_IN_FILE
from sakspost.natskeeper import NatsKeeper
from sakspost.registry import full_layout
from sakspost.texts import text
from services.common.connect import connect_once
from services.common.credentials import (
    CREDENTIALS_FOLDER,
    ensure_key,
    read_env_file,
    write_env_file,
)
from services.common.jetstream import provision_when_ready
from services.common.natsserver import NatsServer, start_nats_server
from services.common.orgconfig import load_organisation
from services.common.settings import Settings
from services.ingest.resource_data import NOTIFICATION_CERTIFICATE_FILE, ensure_local_certificate
from services.websak.config import MARKER_KEY_FILE, MARKER_KEY_VARIABLE

log = structlog.get_logger(__name__)

STOP_GRACE_SECONDS = 30.0
_INHERITED_LOGIN = frozenset(
    {"SAKSPOST_NATS_USER", "SAKSPOST_NATS_PASSWORD", "SAKSPOST_NATS_CREDS_FILE"}
)
RESTART_LIMIT = 5


@dataclass
class Running:
    component: Component
    process: asyncio.subprocess.Process
    restarts: int = 0
    log_path: Path | None = None


@dataclass
class Stack:
    data_dir: Path
    ports: Ports
    org_config: Path
    say: Callable[[str], None] = print
    nats_server: NatsServer | None = None
    nats_keeper: NatsKeeper | None = None
    running: dict[str, Running] = field(default_factory=dict)
    planned: list[Component] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # A component that keeps dying is given up on; a fault-injection run that kills on purpose
    # raises the limit.
    restart_limit: int = RESTART_LIMIT

    # `sakspost up --cluster 3`: three JetStream nodes on loopback, everything replicated thrice.
    nats_nodes: int = 1

    @property
    def nats_url(self) -> str:
        """Every node's URL, comma-separated (client ports N, N+1, … from `--nats-port N`)."""
        if self.nats_server is not None:
            return self.nats_server.url
        return ",".join(f"nats://127.0.0.1:{self.ports.nats + i}" for i in range(self.nats_nodes))

    @property
    def credentials_dir(self) -> Path:
        return self.data_dir / CREDENTIALS_FOLDER

    def settings(self) -> Settings:
        """Settings with which a tool in this process reaches the stack's NATS as any identity."""
        return Settings(
            nats_url=self.nats_url,
            nats_credentials_dir=self.credentials_dir,
            org_config=self.org_config,
            data_dir=self.data_dir,
            stream_replicas=self.nats_nodes,
        )

    def child_env(self, component: Component) -> dict[str, str]:
        # A login in the caller's environment must not leak into the children: each service
        # logs in as itself, from its own file in the credentials folder.
        env = {k: v for k, v in os.environ.items() if k not in _INHERITED_LOGIN}
        env.update(
            {
                "SAKSPOST_NATS_URL": self.nats_url,
                "SAKSPOST_NATS_CREDENTIALS_DIR": str(self.credentials_dir),
                "SAKSPOST_STREAM_REPLICAS": str(self.nats_nodes),
                "SAKSPOST_ORG_CONFIG": str(self.org_config),
                "SAKSPOST_DATA_DIR": str(self.data_dir),
                "SAKSPOST_LOG_FORMAT": env.get("SAKSPOST_LOG_FORMAT", "json"),
            }
        )
        planned = {c.name for c in self.planned}
        if "graph-emulator" in planned:
            env.setdefault(
                "SAKSPOST_GRAPH_BASE_URL", f"http://127.0.0.1:{self.ports.graph_http}/v1.0"
            )
            for name, value in self._resource_data_env().items():
                env.setdefault(name, value)
            for name, value in self.sign_in_env().items():
                env.setdefault(name, value)
            if component.name == "overview":
                env.update(self._overview_secret())
        if "websak-standin" in planned:
            env.setdefault(
                "SAKSPOST_WEBSAK_BASE_URL", f"http://127.0.0.1:{self.ports.websak_standin}"
            )
            # The stand-in's development token; a real WebSak's comes from the environment.
            env.setdefault("SAKSPOST_WEBSAK_TOKEN", "dev-token")
        env.update(component.env)
        return env

    def _resource_data_env(self) -> dict[str, str]:
        """Ingest with resource data against the emulator: the certificate `start` made, and the
        emulator's Entra ID, whose validation tokens name its tenant and app (no registration)."""
        # Only with the emulator planned, which exists in a checkout (not in the image).
        from devtools.graph_emulator.emulator import APPLICATION_ID, tenant_id_for

        org = load_organisation(self.org_config)
        return {
            "SAKSPOST_INGEST_ENCRYPTION_CERTIFICATE_PATH": str(
                self.credentials_dir / NOTIFICATION_CERTIFICATE_FILE
            ),
            **self._authority_env(),
            "SAKSPOST_INGEST_TOKEN_TENANT_ID": tenant_id_for(org.domain),
            "SAKSPOST_INGEST_TOKEN_APP_ID": APPLICATION_ID,
        }

    def _authority_env(self) -> dict[str, str]:
        """The emulator's login host, which plays Entra ID, and the CA its TLS is checked with."""
        from devtools.graph_emulator.server import LOGIN_CA_FILE

        return {
            "SAKSPOST_GRAPH_AUTHORITY": f"https://127.0.0.1:{self.ports.graph_login}",
            "SAKSPOST_GRAPH_AUTHORITY_CA_FILE": str(
                self.data_dir / "graph-emulator" / LOGIN_CA_FILE
            ),
        }

    def sign_in_env(self) -> dict[str, str]:
        """Sakspost's own app registration in the emulator's Entra ID: what a service checks
        tokens against and what the command line signs in to (`sakspost login`)."""
        from devtools.graph_emulator.emulator import APPLICATION_ID, tenant_id_for

        return {
            "SAKSPOST_AUTH_TENANT_ID": tenant_id_for(load_organisation(self.org_config).domain),
            "SAKSPOST_AUTH_CLIENT_ID": APPLICATION_ID,
            **self._authority_env(),
        }

    def _overview_secret(self) -> dict[str, str]:
        """The overview's client secret for its code flow (Kubernetes: a Secret)."""
        from devtools.graph_emulator.local_apps import APP_FILE

        return read_env_file(self.credentials_dir / APP_FILE)

    def _prepare_sign_in(self) -> None:
        """The emulator's app registrations' secrets, and the sign-in settings the command line
        falls back to (`sakspost login` outside the stack's environment)."""
        from devtools.graph_emulator.local_apps import ensure_local_apps

        ensure_local_apps(self.credentials_dir)
        write_env_file(self.credentials_dir / SIGN_IN_FILE, self.sign_in_env())

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        self.nats_server = await asyncio.to_thread(
            start_nats_server,
            self.data_dir / "nats",
            port=self.ports.nats,
            log_file=self.data_dir / "logs" / "nats-server.log",
            nodes=self.nats_nodes,
            credentials_dir=self.credentials_dir,
        )
        self.nats_keeper = NatsKeeper(self.nats_server, self.say, self.restart_limit, self.stopping)
        self.say(text("nats_running", url=self.nats_url))
        # websak's filing-marker key, kept like the passwords (Kubernetes: a Secret).
        ensure_key(self.credentials_dir / MARKER_KEY_FILE, MARKER_KEY_VARIABLE)
        # The certificate Graph (the emulator) encrypts ingest's resource data for (Kubernetes:
        # the Secret sakspost-graph-notifications).
        ensure_local_certificate(self.credentials_dir / NOTIFICATION_CERTIFICATE_FILE)
        self.say(text("credentials", folder=self.credentials_dir))
        await self._provision()
        self.planned = components(self.ports, self.data_dir, self.org_config)
        if any(component.name == "graph-emulator" for component in self.planned):
            self._prepare_sign_in()
        for component in self.planned:
            await self._spawn(component)
        self._write_state()

    async def _provision(self) -> None:
        settings = self.settings()
        connection = await connect_once(settings, "admin", "sakspost-up")
        try:
            org = load_organisation(self.org_config)
            await provision_when_ready(
                connection.jetstream(), full_layout(settings, org), settings.stream_replicas
            )
        finally:
            await connection.close()

    async def _spawn(self, component: Component, restarts: int = 0) -> None:
        log_path = self.data_dir / "logs" / f"{component.name}.log"
        with log_path.open("ab") as log_file:
            process = await asyncio.create_subprocess_exec(
                *component.argv(),
                env=self.child_env(component),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
            )
        self.running[component.name] = Running(component, process, restarts, log_path)
        self.say(text("started", name=component.name, pid=process.pid, port=component.port))

    def _write_state(self) -> None:
        state = {
            "nats_url": self.nats_url,
            "components": [
                {"name": r.component.name, "ready_url": r.component.ready_url, "pid": r.process.pid}
                for r in self.running.values()
            ],
        }
        (self.data_dir / "stack.json").write_text(json.dumps(state, indent=2), encoding="utf-8")

    async def wait_ready(self, within_seconds: float = 60.0) -> list[str]:
        """Names of components not ready within the time given (empty when all are)."""
        deadline = time.monotonic() + within_seconds
        pending = {name: r.component.ready_url for name, r in self.running.items()}
        async with httpx.AsyncClient(timeout=2.0) as client:
            while pending and time.monotonic() < deadline and not self.stopping.is_set():
                for name, url in list(pending.items()):
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(url)).status_code == 200:
                            pending.pop(name)
                            self.say(text("ready", name=name))
                if pending:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), timeout=0.25)
        return sorted(pending)

    async def supervise(self) -> None:
        """Restart components and nats-server nodes that die, until the stack is told to stop."""
        keeper = asyncio.create_task(self.nats_keeper.keep()) if self.nats_keeper else None
        try:
            await self._supervise_components()
        finally:
            if keeper is not None:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper

    async def _supervise_components(self) -> None:
        while not self.stopping.is_set():
            waits = {
                asyncio.ensure_future(r.process.wait()): name for name, r in self.running.items()
            }
            stop_wait = asyncio.ensure_future(self.stopping.wait())
            done, _ = await asyncio.wait([*waits, stop_wait], return_when=asyncio.FIRST_COMPLETED)
            for future in [*waits, stop_wait]:
                if future not in done:
                    future.cancel()
            if self.stopping.is_set():
                return
            for future in done:
                name = waits.get(future)
                if name is None:
                    continue
                dead = self.running[name]
                if dead.restarts >= self.restart_limit:
                    self.say(
                        text("gave_up", name=name, count=self.restart_limit, log=dead.log_path)
                    )
                    self.running.pop(name)
                    continue
                self.say(text("restarting", name=name, code=future.result()))
                await self._spawn(dead.component, dead.restarts + 1)
            self._write_state()

    async def stop(self) -> None:
        self.stopping.set()
        for name, running in reversed(list(self.running.items())):
            if running.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    running.process.send_signal(signal.SIGTERM)
                self.say(text("stopping", name=name))
        for name, running in reversed(list(self.running.items())):
            try:
                await asyncio.wait_for(running.process.wait(), timeout=STOP_GRACE_SECONDS)
            except TimeoutError:
                self.say(text("killing", name=name))
                with contextlib.suppress(ProcessLookupError):
                    running.process.kill()
                await running.process.wait()
        self.running.clear()
        if self.nats_server is not None:
            await asyncio.to_thread(self.nats_server.stop)
            self.say(text("nats_stopped"))
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "stack.json").unlink()


def install_stop_signals(stack: Stack) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stack.stopping.set)
