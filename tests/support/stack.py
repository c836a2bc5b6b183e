"""The whole local stack (`sakspost up`) as a test fixture: every component as its own process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import smtplib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client

from services.common.connect import connect_once
from services.common.credentials import CREDENTIALS_FOLDER
from services.common.natsserver import free_port
from services.common.settings import REPO_ROOT, Settings

PORT_VARIABLES = (
    "SAKSPOST_NATS_PORT",
    "SAKSPOST_INGEST_PORT",
    "SAKSPOST_CLASSIFIER_PORT",
    "SAKSPOST_ROUTER_PORT",
    "SAKSPOST_WEBSAK_SERVICE_PORT",
    "SAKSPOST_NOTIFIER_PORT",
    "SAKSPOST_GRAPH_PORT",
    "SAKSPOST_LOGIN_PORT",
    "SAKSPOST_SMTP_PORT",
    "SAKSPOST_WEBSAK_PORT",
    "SAKSPOST_OVERVIEW_PORT",
)


@dataclass(frozen=True)
class RunningStack:
    data_dir: Path
    env: dict[str, str]
    process: asyncio.subprocess.Process

    def port(self, variable: str) -> int:
        return int(self.env[variable])

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.port('SAKSPOST_NATS_PORT')}"

    def settings(self) -> Settings:
        """Settings that reach the stack's NATS as any identity: `sakspost up` wrote each one's
        login into the credentials folder of its data directory."""
        return Settings(
            nats_url=self.nats_url, nats_credentials_dir=self.data_dir / CREDENTIALS_FOLDER
        )

    async def connect(self, identity: str) -> Client:
        """A connection as `identity` (admin to inspect everything, operator for decisions)."""
        return await connect_once(self.settings(), identity, f"test-{identity}")

    @property
    def graph_url(self) -> str:
        return f"http://127.0.0.1:{self.port('SAKSPOST_GRAPH_PORT')}"

    @property
    def websak_url(self) -> str:
        return f"http://127.0.0.1:{self.port('SAKSPOST_WEBSAK_PORT')}"

    def components(self) -> list[dict[str, object]]:
        state = json.loads((self.data_dir / "stack.json").read_text(encoding="utf-8"))
        components: list[dict[str, object]] = state["components"]
        return components

    async def said(self, marker: str, within_seconds: float = 60.0) -> None:
        """Wait until `sakspost up` prints a line with `marker` (after what it printed so far)."""
        assert self.process.stdout is not None
        await asyncio.wait_for(_read_until(self.process.stdout, marker, []), within_seconds)

    def deliver(self, mails: list[tuple[Path, str]]) -> None:
        """Send each (file, official address) over SMTP, as any mail client would."""
        with smtplib.SMTP("127.0.0.1", self.port("SAKSPOST_SMTP_PORT"), timeout=30) as smtp:
            for path, mailbox in mails:
                smtp.sendmail("avsendar@test.invalid", [mailbox], path.read_bytes())


async def _read_until(stream: asyncio.StreamReader, marker: str, seen: list[str]) -> None:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError("sakspost up ended early:\n" + "".join(seen))
        seen.append(line)
        if marker in line:
            return


@asynccontextmanager
async def running_stack(
    data_dir: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[RunningStack]:
    env = dict(os.environ, SAKSPOST_DATA_DIR=str(data_dir), SAKSPOST_LANGUAGE="en")
    env.update({name: str(free_port()) for name in PORT_VARIABLES})
    env.update(extra_env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sakspost",
        "up",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(_read_until(process.stdout, "Sakspost is running", seen), 120)
        not_ready = [line for line in seen if "not ready after" in line]
        assert not not_ready, "".join(seen)
        yield RunningStack(data_dir, env, process)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.communicate(), 120)
