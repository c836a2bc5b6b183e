"""`sakspost status`: ask every component of the local stack whether it is ready."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from sakspost.components import Ports, components
from services.common.connect import NatsUnavailable, connect_once
from services.common.jetstream import EVENTS_STREAM
from services.common.settings import Settings


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    ready: bool
    detail: str


async def _nats_status(settings: Settings) -> ComponentStatus:
    try:
        connection = await connect_once(settings, "operator", "sakspost-status")
    except NatsUnavailable as error:  # the finding, in one line
        return ComponentStatus("nats", False, str(error))
    url = connection.connected_url.netloc if connection.connected_url else "?"
    try:
        info = await connection.jetstream().stream_info(EVENTS_STREAM)
        return ComponentStatus("nats", True, f"{url}, {info.state.messages} hendingar")
    except Exception as error:
        return ComponentStatus("nats", False, f"JetStream: {type(error).__name__}")
    finally:
        await connection.close()


async def _http_status(client: httpx.AsyncClient, name: str, url: str) -> ComponentStatus:
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        return ComponentStatus(name, False, f"svarar ikkje ({type(error).__name__})")
    detail = url
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        findings = [*(body.get("problems") or []), *(body.get("pending") or [])]
        detail = "; ".join(findings) or url
    return ComponentStatus(name, response.status_code == 200, detail)


def _targets(data_dir: Path, settings: Settings) -> dict[str, str]:
    """The readiness URLs: from the running stack's state, else the defaults."""
    state_file = data_dir / "stack.json"
    if state_file.exists():
        state = json.loads(state_file.read_text(encoding="utf-8"))
        return {c["name"]: c["ready_url"] for c in state["components"]}
    found = components(Ports(), data_dir, settings.org_config)
    return {c.name: c.ready_url for c in found}


async def check_status(data_dir: Path, settings: Settings) -> list[ComponentStatus]:
    """NATS as the operator sees it (its login from the environment, else `data_dir`'s
    credentials), and every component's readiness."""
    targets = _targets(data_dir, settings)
    async with httpx.AsyncClient(timeout=3.0) as client:
        results = await asyncio.gather(
            _nats_status(settings),
            *(_http_status(client, name, url) for name, url in targets.items()),
        )
    return list(results)


def render_status(results: list[ComponentStatus], console: Console) -> None:
    table = Table(title="Sakspost")
    table.add_column("komponent")
    table.add_column("klar")
    table.add_column("detaljar")
    for result in results:
        table.add_row(result.name, "ja" if result.ready else "[red]nei[/red]", result.detail)
    console.print(table)
