"""--data-dir: a restarted emulator keeps its mail, byte for byte, and its subscriptions (R13)."""

from __future__ import annotations

from pathlib import Path

from devtools.graph_emulator import run_emulator
from services.common.graph import get_mime, make_graph_client
from services.common.orgconfig import Organisation
from tests.graph_emulator.conftest import FAST, SHARED, raw_mail, send_smtp


async def test_a_restart_keeps_the_mail(org: Organisation, tmp_path: Path) -> None:
    raw = raw_mail("bevar meg")
    async with run_emulator(org, data_dir=tmp_path, timings=FAST) as first:
        await send_smtp(first.smtp_port, "kari@example.org", [SHARED], raw)
        graph = make_graph_client(first.graph_url)
        message_id = (await graph.users.by_user_id(SHARED).messages.get()).value[0].id
    async with run_emulator(org, data_dir=tmp_path, timings=FAST) as second:
        graph = make_graph_client(second.graph_url)
        assert await get_mime(graph, SHARED, message_id) == raw
