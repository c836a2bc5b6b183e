"""`sakspost up` runs every component as its own process, `sakspost status` reports readiness,
a nats-server that dies is started again, and Ctrl-C stops everything with nothing left running."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import psutil
import pytest

from services.common.jetstream import EVENTS_STREAM
from services.common.settings import REPO_ROOT
from tests.support.stack import running_stack

# Starts processes (nats-server, the stack, services) of its own.
pytestmark = pytest.mark.integration


def _nats_pids(data_dir: Path) -> list[int]:
    return [
        p.pid
        for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] == "nats-server" and str(data_dir) in " ".join(p.info["cmdline"])
    ]


async def test_up_status_and_clean_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    async with running_stack(data_dir) as stack:
        children = [psutil.Process(int(str(c["pid"]))) for c in stack.components()]
        assert children, "at least the development tools run"
        nats_pids = _nats_pids(data_dir)
        assert len(nats_pids) == 1

        status = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sakspost",
            "status",
            "--data-dir",
            str(data_dir),
            cwd=REPO_ROOT,
            env=stack.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await status.communicate()
        assert status.returncode == 0, output.decode()
        assert "all ready" in output.decode()

    assert stack.process.returncode == 0
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert not any(psutil.pid_exists(pid) for pid in nats_pids)
    assert not (data_dir / "stack.json").exists()


async def test_up_starts_a_nats_server_that_died_again_on_its_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    async with running_stack(data_dir) as stack:
        [killed] = _nats_pids(data_dir)
        psutil.Process(killed).kill()
        await stack.said("nats-server sakspost-1 stopped (code -9); restarting")
        await stack.said("started nats-server sakspost-1")

        [started] = _nats_pids(data_dir)
        assert started != killed
        # The same store (provisioned at the first start) and the same logins.
        connection = await stack.connect("admin")
        try:
            info = await connection.jetstream().stream_info(EVENTS_STREAM)
            assert info.config.name == EVENTS_STREAM
        finally:
            await connection.close()

    assert not psutil.pid_exists(started)
