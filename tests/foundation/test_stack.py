"""`sakspost up` runs every component as its own process, `sakspost status` reports readiness,
and Ctrl-C stops everything with nothing left running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import psutil

from services.common.natsserver import free_port
from services.common.settings import REPO_ROOT


def _env(data_dir: Path) -> dict[str, str]:
    ports = {
        "SAKSPOST_NATS_PORT": free_port(),
        "SAKSPOST_INGEST_PORT": free_port(),
        "SAKSPOST_GRAPH_PORT": free_port(),
        "SAKSPOST_SMTP_PORT": free_port(),
        "SAKSPOST_WEBSAK_PORT": free_port(),
    }
    env = dict(os.environ, SAKSPOST_DATA_DIR=str(data_dir), SAKSPOST_LANGUAGE="en")
    env.update({name: str(port) for name, port in ports.items()})
    return env


async def _read_until(stream: asyncio.StreamReader, marker: str, seen: list[str]) -> None:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError("sakspost up ended early:\n" + "".join(seen))
        seen.append(line)
        if marker in line:
            return


async def test_up_status_and_clean_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    env = _env(data_dir)
    up = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sakspost",
        "up",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert up.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(_read_until(up.stdout, "Sakspost is running", seen), 90)
        state = json.loads((data_dir / "stack.json").read_text(encoding="utf-8"))
        children = [psutil.Process(c["pid"]) for c in state["components"]]
        nats_pids = [
            p.pid
            for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "nats-server" and str(data_dir) in " ".join(p.info["cmdline"])
        ]
        assert len(nats_pids) == 1

        status = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sakspost",
            "status",
            "--data-dir",
            str(data_dir),
            cwd=REPO_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await status.communicate()
        assert status.returncode == 0, output.decode() + "".join(seen)
        assert "all ready" in output.decode()
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(up.communicate(), 90)
    assert up.returncode == 0, "".join(seen) + rest.decode()
    assert "everything is stopped" in rest.decode()
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert not any(psutil.pid_exists(pid) for pid in nats_pids)
    assert not (data_dir / "stack.json").exists()
