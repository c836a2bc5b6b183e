"""`sakspost up --demo`: deliver sample mail and show each mail's journey live."""

from __future__ import annotations

import asyncio
import json
import smtplib
from pathlib import Path

from rich.console import Console

from sakspost.inject import inject_files
from sakspost.stack import Stack
from sakspost.tail import print_event_line, tail
from sakspost.texts import text
from schemas.subjects import PREFIX
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation, load_organisation
from services.common.received import official_recipient


def demo_mails(samples: Path, org: Organisation, count: int) -> list[tuple[Path, str]]:
    """Up to `count` shared-mailbox samples with the official address each was sent to."""
    labels = samples / "labels.jsonl"
    names = (
        [json.loads(line)["file"] for line in labels.read_text(encoding="utf-8").splitlines()]
        if labels.exists()
        else sorted(p.name for p in samples.glob("*.eml"))
    )
    chosen: list[tuple[Path, str]] = []
    for name in names:
        path = samples / name
        mailbox = official_recipient(parse_mail(path.read_bytes()), org)
        if mailbox is not None:
            chosen.append((path, mailbox))
        if len(chosen) >= count:
            break
    return chosen


def deliver_over_smtp(port: int, mails: list[tuple[Path, str]]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for path, mailbox in mails:
            smtp.sendmail("demo@sakspost.invalid", [mailbox], path.read_bytes())


async def run_demo(stack: Stack, samples: Path, count: int, console: Console) -> None:
    org = load_organisation(stack.org_config)
    mails = demo_mails(samples, org, count)
    subscribed = asyncio.Event()
    watcher = asyncio.create_task(
        tail(stack.settings(), f"{PREFIX}.>", print_event_line(console), subscribed=subscribed)
    )
    # The live view subscribes before the first mail goes out, so no event is missed.
    await subscribed.wait()
    through_graph = "graph-emulator" in stack.running and "ingest" in stack.running
    how = "SMTP → Graph-emulator → ingest" if through_graph else "sakspost inject"
    if "overview" in stack.running:
        supervisor = org.staff_member(next(iter(org.departments.values())).supervisors[0])
        console.print(
            text(
                "demo_overview",
                url=f"http://127.0.0.1:{stack.ports.services['overview']}",
                email=supervisor.email,
            )
        )
    console.print(text("demo_delivering", count=len(mails), source=samples, how=how))
    if through_graph:
        await asyncio.to_thread(deliver_over_smtp, stack.ports.graph_smtp, mails)
    else:
        await inject_files(stack.settings(), org, mails)
    await watcher
