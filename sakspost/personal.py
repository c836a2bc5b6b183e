"""`sakspost personal opt-in|opt-out|list` and `sakspost sweep` (R9c, R15, R16).

Opting in or out is the signed-in person's own decision about their own mailbox: a command
(`sakspost.cmd.personal_decide`) ingest answers, recording it in its KV bucket with who and when;
ingest's watch follows it within one upkeep interval. `list` reads those records (read only).

The sweep runs here, in the command's own process: it reads the mailbox from Graph, judges each
mail in memory and tells only the owner what it found. This command prints counts, never a
subject: the operator running it is not the mailbox's owner.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sakspost.ask import send
from sakspost.failure import fail
from sakspost.login import LoginError, verified_actor
from schemas.commands import Verb
from schemas.events import Alert
from services.common.connect import NatsUnavailable, connect_once
from services.common.graph import graph_client_for
from services.common.isolation import Isolation
from services.common.jetstream import INGEST_BUCKET
from services.common.language import Language, in_language, language_of_the_command_line
from services.common.orgconfig import Organisation, OrgConfigError, StaffMember, load_organisation
from services.common.rights import may_record_consent
from services.common.seal import signing_keys
from services.common.settings import Settings, SettingsError, load_settings
from services.common.workers import WorkerPool
from services.ingest.config import IngestSettings
from services.ingest.gateway import GraphGateway, MailboxGate
from services.ingest.personal.mailroom import Mailroom
from services.ingest.personal.state import Decision, PersonalState
from services.ingest.personal.sweep import Sweep, SweepReport
from services.ingest.state import IngestState

personal_app = typer.Typer(
    help="Personlege postkassar: samtykke til at Sakspost ser etter tenestepost (R9c, R15).",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)

_TEXTS: dict[str, dict[Language, str]] = {
    "unknown_staff": {"nn": "Ukjend tilsett: {staff_id}", "nb": "Ukjent ansatt: {staff_id}",
                      "en": "Unknown staff id: {staff_id}"},
    "unknown_mailbox": {"nn": "{address} er ikkje postkassa til nokon tilsett",
                        "nb": "{address} er ikke postkassen til noen ansatt",
                        "en": "{address} is not a staff member's mailbox"},
    "opted_in": {"nn": "{name} har sagt ja; Sakspost ser etter tenestepost i postkassa",
                 "nb": "{name} har sagt ja; Sakspost ser etter tjenestepost i postkassen",
                 "en": "{name} opted in; Sakspost watches the mailbox for official mail"},
    "opted_out": {"nn": "{name} har sagt nei; Sakspost les ikkje postkassa, og har gløymt ho",
                  "nb": "{name} har sagt nei; Sakspost leser ikke postkassen og har glemt den",
                  "en": "{name} opted out; Sakspost does not read the mailbox and forgot it"},
    "no_consent": {
        "nn": "{name} har ikkje sagt ja; registrer samtykket med --consent (R16)",
        "nb": "{name} har ikke sagt ja; registrer samtykket med --consent (R16)",
        "en": "{name} has not opted in; record their consent with --consent (R16)",
    },
    "not_your_consent": {
        "nn": "{actor} kan ikkje registrere samtykket til {name}: berre eigaren, leiaren eller "
              "drift kan det",
        "nb": "{actor} kan ikke registrere samtykket til {name}: bare eieren, lederen eller "
              "drift kan det",
        "en": "{actor} may not record {name}'s consent: only the owner, their leader or "
              "operations may",
    },
    "headers": {"nn": "Tilsett|Namn|Ja/nei|Når|Registrert av",
                "nb": "Ansatt|Navn|Ja/nei|Når|Registrert av",
                "en": "Staff|Name|Opted in|When|Recorded by"},
    "yes": {"nn": "ja", "nb": "ja", "en": "yes"},
    "no": {"nn": "nei", "nb": "nei", "en": "no"},
    "config": {"nn": "organisasjonsfila", "nb": "organisasjonsfilen", "en": "organisation file"},
    "reading": {"nn": "Les {address}", "nb": "Leser {address}", "en": "Reading {address}"},
    "swept": {
        "nn": "{read} e-postar lesne, {found} tenestepost, {forwarded} vidaresende, {throttled} "
              "gonger venta på Graph. Eigaren har fått rapporten.",
        "nb": "{read} e-poster lest, {found} tjenestepost, {forwarded} videresendt, {throttled} "
              "ganger ventet på Graph. Eieren har fått rapporten.",
        "en": "{read} mails read, {found} official, {forwarded} forwarded, waited {throttled} "
              "times for Graph. The owner has the report.",
    },
}  # fmt: skip


def _say(key: str, **values: object) -> str:
    return in_language(_TEXTS[key], language_of_the_command_line()).format(**values)


def _load() -> tuple[Settings, Organisation]:
    try:
        settings = load_settings()
        return settings, load_organisation(settings.org_config)
    except (SettingsError, OrgConfigError) as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def _member(org: Organisation, staff_id: str) -> StaffMember:
    try:
        return org.staff_member(staff_id)
    except KeyError:
        errors.print(_say("unknown_staff", staff_id=staff_id))
        raise typer.Exit(2) from None


@asynccontextmanager
async def _jetstream(settings: Settings, identity: str) -> AsyncIterator[JetStreamContext]:
    try:
        connection = await connect_once(settings, identity, f"sakspost-personal-{identity}")
    except NatsUnavailable as error:
        raise fail(error) from None
    try:
        yield connection.jetstream()
    finally:
        await connection.close()


@asynccontextmanager
async def _bucket(settings: Settings, identity: str) -> AsyncIterator[KeyValue]:
    """Ingest's bucket, as `identity`: the operator may only read the opt-in keys
    (`permissions.py`)."""
    async with _jetstream(settings, identity) as js:
        yield await js.key_value(INGEST_BUCKET)


def _decide(opted_in: bool) -> None:
    """The signed-in person's own decision, as a command ingest answers (R16: only the owner)."""
    reply = send(Verb.PERSONAL_DECIDE, {"request_id": uuid.uuid4().hex, "opted_in": opted_in})
    _, org = _load()
    name = _member(org, str(reply.get("staff_id"))).name
    console.print(_say("opted_in" if opted_in else "opted_out", name=name))


@personal_app.command("opt-in")
def opt_in() -> None:
    """Ja: Sakspost ser etter tenestepost i di postkasse og seier frå berre til deg."""
    _decide(opted_in=True)


@personal_app.command("opt-out")
def opt_out() -> None:
    """Nei: Sakspost sluttar å lese di postkasse og gløymer alt om ho."""
    _decide(opted_in=False)


@personal_app.command("list")
def list_command() -> None:
    """Kven som har sagt ja eller nei, når og registrert av kven."""
    settings, org = _load()

    async def run() -> list[tuple[StaffMember, Decision | None, bool]]:
        async with _bucket(settings, "operator") as kv:
            state = PersonalState(kv)
            return [(m, await state.decision(m.id), await state.is_opted_in(m)) for m in org.staff]

    table = Table(*_say("headers").split("|"))
    for member, decision, opted_in in asyncio.run(run()):
        when = decision.at.strftime("%Y-%m-%d %H:%M") if decision else _say("config")
        table.add_row(
            member.id,
            member.name,
            _say("yes" if opted_in else "no"),
            when,
            decision.by if decision else "",
        )
    console.print(table)


async def run_sweep(
    settings: Settings,
    org: Organisation,
    owner: StaffMember,
    consent_by: str | None,
    forward: bool,
    progress: Progress,
) -> SweepReport | None:
    """The sweep, once the owner opted in or consent is recorded; None without either (R16).

    It reads a mailbox as ingest does, so it logs in as ingest, and alerts as ingest would."""
    async with _jetstream(settings, "ingest") as js:

        async def publish(alert: Alert) -> None:
            headers = {"Nats-Msg-Id": alert.event_id, "content-type": "application/json"}
            await js.publish(alert.nats_subject(), alert.to_json(), headers=headers)

        kv = await js.key_value(INGEST_BUCKET)
        state = PersonalState(kv)
        if consent_by is not None:
            consent = Decision(
                staff_id=owner.id, opted_in=True, at=datetime.now(UTC), by=consent_by
            )
            await state.record_consent(consent)
        elif not (await state.is_opted_in(owner) or await state.consent(owner.id)):
            return None
        graph = graph_client_for(settings, retries=False)
        config = IngestSettings()
        gateway = GraphGateway(graph, MailboxGate(config.mailbox_concurrency))
        task = progress.add_task(_say("reading", address=owner.email), total=None)
        workers = WorkerPool(settings.worker_limits(), "sakspost-sweep-worker")
        sweep = Sweep(
            owner,
            gateway,
            Mailroom(
                org,
                gateway,
                IngestState(kv),
                state,
                config,
                signing_keys(settings),
                workers,
                settings.mail_limits(),
            ),
            state,
            forward=forward,
            isolation=Isolation("offboarding sweep", org.common_department, publish),
            progress=lambda read: progress.update(task, completed=read),
        )
        try:
            return await sweep.run()
        finally:
            await workers.close()


def _consent_recorder(settings: Settings, org: Organisation, owner: StaffMember) -> str:
    """Who records the owner's consent: the signed-in person or operator, proven by their token,
    and one who may (the owner, their leader, an operator: `rights.may_record_consent`)."""
    try:
        actor = verified_actor(settings, org)
    except LoginError as refused:
        raise fail(str(refused)) from None
    if not may_record_consent(org, actor, owner.id):
        raise fail(_say("not_your_consent", actor=actor.name, name=owner.name))
    return actor.id


def sweep_command(
    address: Annotated[str, typer.Argument(help="Postkassa som skal gjennomgåast")],
    consent: Annotated[
        bool,
        typer.Option(
            "--consent",
            help="Eigaren har samtykt (R16); registrert på deg som er innlogga (eigaren, "
            "leiaren hans eller drift)",
        ),
    ] = False,
    forward: Annotated[
        bool, typer.Option("--forward", help="Send tenesteposten vidare til Sakspost (R9c)")
    ] = False,
) -> None:
    """Gjennomgå ei personleg postkasse før ho blir sletta (R16): eigaren får rapporten."""
    settings, org = _load()
    owner = org.staff_by_email(address)
    if owner is None:
        errors.print(_say("unknown_mailbox", address=address))
        raise typer.Exit(2)
    recorder = _consent_recorder(settings, org, owner) if consent else None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors, transient=False) as progress:
        report = asyncio.run(run_sweep(settings, org, owner, recorder, forward, progress))
    if report is None:
        errors.print(_say("no_consent", name=owner.name))
        raise typer.Exit(1)
    console.print(
        _say(
            "swept",
            read=report.read,
            found=len(report.found),
            forwarded=report.forwarded,
            throttled=report.throttled,
        )
    )


if __name__ == "__main__":
    # `python -m sakspost.personal ADDRESS ...`: the sweep on its own, as a process a test can kill.
    typer.run(sweep_command)
