"""Carrying out one planned fault against the running stack, and counting what was done."""

from __future__ import annotations

import asyncio
import random
import smtplib
from collections import Counter
from dataclasses import dataclass, field

import httpx

from devtools.chaos.fuzz import malformed_mail, webhook_body
from devtools.chaos.natsfaults import NodeLoss, crash_nats, lose_node
from devtools.chaos.schedule import Fault, FaultKind
from devtools.harness.mail import Sample
from devtools.harness.stack import LocalStack

# What each Graph fault switches on for its mailbox (shares are exact: see the emulator's faults).
GRAPH_SWITCHES = {
    FaultKind.GRAPH_THROTTLE: {"throttle": 0.5, "retryAfter": 1},
    FaultKind.GRAPH_ERROR: {"serverError": 0.5},
    FaultKind.GRAPH_SLOW: {"latencyMs": 1500},
    FaultKind.GRAPH_DROP: {"dropNotifications": 0.5},
}
ARCHIVE_FAILURES = 5


@dataclass
class Injector:
    stack: LocalStack
    graph: httpx.AsyncClient
    standin: httpx.AsyncClient
    webhook: httpx.AsyncClient
    samples: list[Sample]
    rng: random.Random
    run_id: str
    injected: Counter[str] = field(default_factory=Counter)
    webhook_answers: Counter[str] = field(default_factory=Counter)
    fuzzed_mails: set[str] = field(default_factory=set)
    smtp_refused: int = 0
    node_losses: list[NodeLoss] = field(default_factory=list)
    # What went wrong with NATS itself: a node that never caught up, an election that never came.
    problems: list[str] = field(default_factory=list)
    # One NATS fault at a time: a cluster of three is built to lose one node, and is back to full
    # strength only once that node is current again.
    _nats: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _archive: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def apply(self, fault: Fault) -> None:
        kind = fault.kind
        if kind is FaultKind.KILL_SERVICE:
            self.stack.kill(fault.target)
        elif kind in (FaultKind.RESTART_NATS, FaultKind.LOSE_NATS_NODE):
            if self._nats.locked():
                return  # another NATS fault is under way: this one would not be a fault of its own
            async with self._nats:
                if kind is FaultKind.RESTART_NATS:
                    self.problems += await crash_nats(self.stack, fault.seconds)
                else:
                    await self._lose_node(fault)
        elif kind in GRAPH_SWITCHES:
            await self._graph_fault(fault)
        elif kind is FaultKind.ARCHIVE_DOWN:
            if self._archive.locked():
                return
            async with self._archive:
                await self.standin.put("/_standin/faults", json={"down": True})
                await asyncio.sleep(fault.seconds)  # the outage lasts this long
                await self.standin.put("/_standin/faults", json={"down": False})
        elif kind is FaultKind.ARCHIVE_FAIL:
            await self.standin.put("/_standin/faults", json={"fail_500": ARCHIVE_FAILURES})
        elif kind is FaultKind.FUZZ_WEBHOOK:
            await self._fuzz_webhook(fault.size)
        elif kind is FaultKind.FUZZ_MIME:
            await asyncio.to_thread(self._fuzz_mime, fault.size)
        self.injected[kind.value] += 1

    async def _lose_node(self, fault: Fault) -> None:
        try:
            loss = await lose_node(self.stack, fault.target, fault.seconds)
        except TimeoutError as timeout:  # the cluster was not whole before the kill
            self.problems.append(f"{fault.target} not lost: {timeout}")
            return
        self.node_losses.append(loss)
        self.problems += loss.problems()

    async def _graph_fault(self, fault: Fault) -> None:
        path = f"/_emulator/mailboxes/{fault.target}/faults"
        await self.graph.put(path, json=GRAPH_SWITCHES[fault.kind])
        await asyncio.sleep(fault.seconds)  # the incident lasts this long
        await self.graph.delete(path)

    async def _fuzz_webhook(self, size: int) -> None:
        for _ in range(size):
            body, content_type = webhook_body(self.rng)
            try:
                answer = await self.webhook.post(
                    "/graph/notifications", content=body, headers={"Content-Type": content_type}
                )
                self.webhook_answers[str(answer.status_code)] += 1
            except httpx.TransportError:
                # Ingest may be the service just killed: Graph would retry; so is it counted.
                self.webhook_answers["no answer"] += 1

    def _fuzz_mime(self, size: int) -> None:
        for _ in range(size):
            sample = self.rng.choice(self.samples)
            number = len(self.fuzzed_mails) + self.smtp_refused
            message_id = f"fuzz-{self.run_id}-{number}@sakspost.invalid"
            raw = malformed_mail(self.rng, sample.raw, message_id)
            # One connection per mail: a server that refuses a mail may also hang up.
            try:
                with smtplib.SMTP("127.0.0.1", self.stack.ports.graph_smtp, timeout=60) as smtp:
                    smtp.sendmail("fuzz@sakspost.invalid", [sample.mailbox], raw)
            except smtplib.SMTPException:
                self.smtp_refused += 1
                continue
            self.fuzzed_mails.add(message_id)

    async def clear(self) -> None:
        """Every fault switch off (a fault still running ends by itself)."""
        await self.graph.delete("/_emulator/faults")
        await self.standin.delete("/_standin/faults")
