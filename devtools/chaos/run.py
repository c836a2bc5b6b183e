"""A fault-injection run over the whole stack: mail flows while faults are injected; then every
fault is switched off, the pipeline is let to finish, and the invariants are checked.

The faults follow a seeded random plan (`schedule.plan`); the run sleeps between them because the
schedule is the workload, not a wait for a result. Finishing is waited for on events (every mail
in its final state) and on JetStream's own counters (nothing pending), bounded in time: once
nothing has moved for 5 minutes, what is not done is reported as lost or stuck; a queue that
still drains is waited for, up to 30 minutes.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from devtools.chaos.inject import Injector
from devtools.chaos.invariants import DeadLetter, check
from devtools.chaos.natsfaults import NodeLoss
from devtools.chaos.schedule import Fault, plan
from devtools.harness.connect import connect_as
from devtools.harness.delivery import deliver_at_rate
from devtools.harness.events import EventRecorder, Seen, record_events
from devtools.harness.mail import Sample, copies, shared_samples
from devtools.harness.progress import Progress
from devtools.harness.quiet import wait_quiet
from devtools.harness.stack import LocalStack, local_stack
from services.common.jetstream import DEAD_LETTER_STREAM
from services.common.orgconfig import load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG, REPO_ROOT, Settings

# Faults come on average this far apart.
MEAN_GAP_SECONDS = 6.0
# After the last fault: a run whose mails have not moved for this long (no event) is stuck, what
# is unfinished lost; retries, redeliveries and delta catch-up all come well within it.
STUCK_SECONDS = 300.0
# A queue the faults left behind (archiving, the slowest stage) that still drains is late, not
# stuck; the wait for it ends after this long all the same.
SETTLE_SECONDS = 1800.0
# Short delays and waits, so that what a crash left unfinished is taken up within seconds; the
# behaviour is the production one, only the clock is faster.
CHAOS_ENV = {
    "SAKSPOST_RETRY_BASE_SECONDS": "0.5",
    "SAKSPOST_RETRY_MAX_SECONDS": "5",
    "SAKSPOST_ACK_WAIT_SECONDS": "10",
    "SAKSPOST_DELTA_INTERVAL_SECONDS": "20",
    "SAKSPOST_INGEST_LEASE_SECONDS": "5",
    "SAKSPOST_INGEST_UPKEEP_INTERVAL_SECONDS": "2",
    "SAKSPOST_LOG_LEVEL": "warning",
}
NOTIFIER_CLAIM_LEASE_SECONDS = 10
# Killing on purpose: the supervisor must never give up restarting.
KEEP_RESTARTING = 1_000_000


@dataclass
class ChaosReport:
    minutes: float
    seed: int
    rate: float
    nats_nodes: int
    mails: int = 0
    fuzzed_mails: int = 0
    smtp_refused: int = 0
    cases: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    webhook_inputs: int = 0
    webhook_answers: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    settle_seconds: float = 0.0
    node_losses: list[NodeLoss] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    # Every event of the run as the integrator saw it (`stored`: the stream's own time), and when
    # SMTP accepted each mail (Message-ID → epoch seconds).
    events: list[Seen] = field(default_factory=list, repr=False)
    delivered: dict[str, float] = field(default_factory=dict, repr=False)


def _notifier_config(workdir: Path) -> Path:
    """The default notifier configuration with a short claim lease (see CHAOS_ENV)."""
    config = yaml.safe_load((REPO_ROOT / "config" / "notifier.yaml").read_text(encoding="utf-8"))
    config["claim_lease_seconds"] = NOTIFIER_CLAIM_LEASE_SECONDS
    path = workdir / "notifier.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


async def _dead_letters(settings: Settings) -> list[DeadLetter]:
    """Every dead letter, read as admin (the dead-letter stream is no service's to read)."""
    connection = await connect_as(settings, "admin", "sakspost-chaos", reconnecting=True)
    try:
        js = connection.jetstream()
        state = (await js.stream_info(DEAD_LETTER_STREAM)).state
        letters = []
        for sequence in range(state.first_seq, state.last_seq + 1) if state.messages else ():
            message = await js.get_msg(DEAD_LETTER_STREAM, sequence)
            msg_id = (message.headers or {}).get("Nats-Msg-Id", "")
            letters.append(DeadLetter(msg_id, message.data or b""))
        return letters
    finally:
        await connection.close()


async def settle(recorder: EventRecorder, progress: Progress) -> None:
    """Until every mail is in its final state; TimeoutError once nothing has moved for
    `STUCK_SECONDS`, or after `SETTLE_SECONDS` in all."""

    def moved(count: int) -> Callable[[list[Seen]], bool]:
        """Every mail final, or an event beyond the first `count`."""
        return lambda events: progress(events) or len(events) > count

    async def finished() -> None:
        while progress.pending():
            await recorder.wait_until(
                moved(len(recorder.seen)),
                STUCK_SECONDS,
                "every mail in its final state (nothing moved)",
            )

    try:
        await asyncio.wait_for(finished(), SETTLE_SECONDS)
    except TimeoutError as timeout:
        raise TimeoutError(str(timeout) or f"still moving after {SETTLE_SECONDS:.0f} s") from None


async def _inject_all(injector: Injector, faults: list[Fault], started: float) -> None:
    running = []
    for fault in faults:
        await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))  # the schedule
        running.append(asyncio.create_task(injector.apply(fault)))
    await asyncio.gather(*running)


def sample_mail() -> list[Sample]:
    """The mail a run delivers copies of: every labelled sample sent to a shared mailbox."""
    return shared_samples(REPO_ROOT / "samples", load_organisation(DEFAULT_ORG_CONFIG))


async def run_faults(
    stack: LocalStack,
    samples: list[Sample],
    faults: list[Fault],
    duration: float,
    rate: float,
    seed: int,
) -> ChaosReport:
    """Copies of `samples` at `rate` per second for `duration` seconds while `faults` are
    injected; then the invariants. `faults` must fit `stack` (its services, its NATS nodes)."""
    report = ChaosReport(duration / 60, seed, rate, len(stack.nats_node_names()))
    run_id = uuid.uuid4().hex[:8]
    mails = copies(samples, max(1, round(duration * rate)), run_id)
    ingest = f"http://127.0.0.1:{stack.ports.services['ingest']}"
    async with (
        httpx.AsyncClient(base_url=stack.graph_url, trust_env=False) as graph,
        httpx.AsyncClient(base_url=stack.websak_url, trust_env=False) as standin,
        httpx.AsyncClient(base_url=ingest, trust_env=False, timeout=10) as webhook,
    ):
        injector = Injector(
            stack, graph, standin, webhook, samples, random.Random(seed + 1), run_id
        )
        started = time.monotonic()
        # Delivery is stamped on the monotonic clock; the stream stamps events on the wall clock.
        wall_offset = time.time() - started
        delivered, _ = await asyncio.gather(
            deliver_at_rate(stack.ports.graph_smtp, mails, rate),
            _inject_all(injector, faults, started),
        )
        report.delivered = {mail: at + wall_offset for mail, at in delivered.items()}
        await injector.clear()
        tracked = {mail.message_id for mail in mails} | injector.fuzzed_mails
        settle_started = time.monotonic()
        async with record_events(stack.settings()) as recorder:
            progress = Progress(tracked)
            try:
                await settle(recorder, progress)
                await wait_quiet(stack.settings(), STUCK_SECONDS)
            except TimeoutError as timeout:
                report.violations.append(f"not finished: {timeout}")
            report.events = list(recorder.seen)
        report.settle_seconds = round(time.monotonic() - settle_started, 1)
        state = (await standin.get("/_standin/state")).json()
    letters = await _dead_letters(stack.settings())
    events = [seen.payload for seen in report.events]
    outcome = check(tracked, events, list(state["journalposter"].values()), letters)
    report.mails = len(mails)
    report.fuzzed_mails = len(injector.fuzzed_mails)
    report.smtp_refused = injector.smtp_refused
    report.cases = outcome.cases
    report.faults = injector.injected
    report.webhook_answers = injector.webhook_answers
    report.webhook_inputs = sum(injector.webhook_answers.values())
    report.dead_letters = len(letters)
    report.alerts = Counter(str(e.get("kind")) for e in events if e.get("type") == "alert")
    report.node_losses = injector.node_losses
    report.violations += outcome.violations
    report.violations += injector.problems
    # Malformed input gets a clear 4xx (or 503 while NATS is down); a 500 is a crash in ingest.
    if injector.webhook_answers["500"]:
        report.violations.append(f"webhook answered 500 {injector.webhook_answers['500']} times")
    return report


def chaos_env(workdir: Path) -> dict[str, str]:
    """Every child's extra settings in a fault-injection run: the faster clock of `CHAOS_ENV`."""
    return dict(CHAOS_ENV, SAKSPOST_NOTIFIER_CONFIG=str(_notifier_config(workdir)))


async def run_chaos(
    minutes: float, rate: float, seed: int, workdir: Path, nats_nodes: int = 1
) -> ChaosReport:
    """A seeded random storm of faults (`schedule.plan`) for `minutes`; `nats_nodes=3` runs NATS
    as a cluster and adds node losses to the faults."""
    duration = minutes * 60
    delivered = sample_mail()
    async with local_stack(
        workdir / "stack", chaos_env(workdir), restart_limit=KEEP_RESTARTING, nats_nodes=nats_nodes
    ) as stack:
        faults = plan(
            seed,
            duration,
            stack.service_names(),
            sorted({sample.mailbox for sample in delivered}),
            MEAN_GAP_SECONDS,
            tuple(stack.nats_node_names()),
        )
        return await run_faults(stack, delivered, faults, duration, rate, seed)
