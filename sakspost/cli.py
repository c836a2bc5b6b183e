"""The `sakspost` command: run the local stack, look at it, and drive it by hand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated

import typer
from nats.errors import Error as NatsError
from rich.console import Console

from sakspost.backup import BackupFailed, back_up, restore
from sakspost.cases import cases_app
from sakspost.components import Ports
from sakspost.demo import run_demo
from sakspost.export import stale_files, write_files
from sakspost.failure import fail
from sakspost.inject import inject_files
from sakspost.login_commands import login_command, logout_command, whoami_command
from sakspost.personal import personal_app, sweep_command
from sakspost.registry import full_layout
from sakspost.stack import Stack, install_stop_signals
from sakspost.status import check_status, render_status
from sakspost.tail import print_event_line, tail
from sakspost.texts import text
from schemas.subjects import MAIL_ALL
from services.classifier.cli import classify_app
from services.common.connect import NatsUnavailable, connect_once
from services.common.jetstream import ProvisioningError, provision_when_ready
from services.common.orgconfig import OrgConfigError, load_organisation
from services.common.settings import DEFAULT_HTTP_PORTS, Settings, SettingsError, load_settings

app = typer.Typer(
    name="sakspost",
    help="Sakspost: automatisk handsaming av kommunen si Sakspost (Microsoft 365).",
    no_args_is_help=True,
    add_completion=False,
)
schemas_app = typer.Typer(help="Hendingskontrakten: JSON Schema og AsyncAPI.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.add_typer(classify_app, name="classify")
app.add_typer(cases_app, name="cases")
app.add_typer(personal_app, name="personal")
app.command("sweep")(sweep_command)
app.command("login")(login_command)
app.command("logout")(logout_command)
app.command("whoami")(whoami_command)
console = Console()
errors = Console(stderr=True)

READY_TIMEOUT_SECONDS = 60.0
DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="SAKSPOST_DATA_DIR", help="Lokal tilstand og loggar")
]


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def _organisation(settings: Settings) -> object:
    try:
        return load_organisation(settings.org_config)
    except OrgConfigError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@app.callback()
def main_options(
    lang: Annotated[
        str | None, typer.Option("--lang", help="Språk: nn (standard), nb eller en")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Mappa til den lokale stakken: innloggingsopplysningane (credentials/) og loggar",
        ),
    ] = None,
) -> None:
    # Every command reads its settings, its NATS login among them, from the environment.
    if data_dir is not None:
        os.environ["SAKSPOST_DATA_DIR"] = str(data_dir)
    if lang is not None:
        if lang not in ("nn", "nb", "en"):
            errors.print("--lang må vere nn, nb eller en")
            raise typer.Exit(2)
        os.environ["SAKSPOST_LANGUAGE"] = lang


@app.command()
def up(
    demo: Annotated[
        bool, typer.Option("--demo", help="Lever eksempel-e-post og vis ferda")
    ] = False,
    data_dir: DataDir = Path(".sakspost"),
    nats_port: Annotated[int, typer.Option(envvar="SAKSPOST_NATS_PORT")] = 4222,
    ingest_port: Annotated[int, typer.Option(envvar="SAKSPOST_INGEST_PORT")] = DEFAULT_HTTP_PORTS[
        "ingest"
    ],
    classifier_port: Annotated[
        int, typer.Option(envvar="SAKSPOST_CLASSIFIER_PORT")
    ] = DEFAULT_HTTP_PORTS["classifier"],
    router_port: Annotated[int, typer.Option(envvar="SAKSPOST_ROUTER_PORT")] = DEFAULT_HTTP_PORTS[
        "router"
    ],
    websak_service_port: Annotated[
        int,
        typer.Option(
            envvar="SAKSPOST_WEBSAK_SERVICE_PORT",
            help="websak-tenesta sin port (--websak-port er stand-in-en for WebSak)",
        ),
    ] = DEFAULT_HTTP_PORTS["websak"],
    notifier_port: Annotated[
        int, typer.Option(envvar="SAKSPOST_NOTIFIER_PORT")
    ] = DEFAULT_HTTP_PORTS["notifier"],
    overview_port: Annotated[
        int, typer.Option(envvar="SAKSPOST_OVERVIEW_PORT")
    ] = DEFAULT_HTTP_PORTS["overview"],
    graph_port: Annotated[int, typer.Option(envvar="SAKSPOST_GRAPH_PORT")] = 8025,
    smtp_port: Annotated[int, typer.Option(envvar="SAKSPOST_SMTP_PORT")] = 2525,
    login_port: Annotated[int, typer.Option(envvar="SAKSPOST_LOGIN_PORT")] = 8026,
    websak_port: Annotated[int, typer.Option(envvar="SAKSPOST_WEBSAK_PORT")] = 8090,
    samples: Annotated[Path, typer.Option(help="Mappe med eksempel-e-post")] = Path("samples"),
    demo_count: Annotated[int, typer.Option(help="Kor mange e-postar demoen leverer")] = 12,
    cluster: Annotated[
        int,
        typer.Option(
            min=1,
            max=5,
            help="Kor mange NATS-nodar (3: ein JetStream-klynge, alt replikert tre gonger)",
        ),
    ] = 1,
) -> None:
    """Start NATS, utviklingsverktøya og alle tenestene lokalt (Ctrl-C stoppar alt)."""
    settings = _settings()
    _organisation(settings)
    service_ports = {
        "ingest": ingest_port,
        "classifier": classifier_port,
        "router": router_port,
        "websak": websak_service_port,
        "notifier": notifier_port,
        "overview": overview_port,
    }
    ports = Ports(
        nats_port,
        graph_port,
        smtp_port,
        websak_port,
        service_ports,
        graph_login=login_port,
    )
    stack = Stack(
        data_dir.resolve(),
        ports,
        settings.org_config.resolve(),
        say=console.print,
        nats_nodes=cluster,
    )

    async def run() -> None:
        install_stop_signals(stack)
        try:
            await stack.start()
            missing = await stack.wait_ready(READY_TIMEOUT_SECONDS)
            if stack.stopping.is_set():
                return
            if missing:
                errors.print(
                    text(
                        "not_ready",
                        seconds=READY_TIMEOUT_SECONDS,
                        names=", ".join(missing),
                        logs=data_dir / "logs",
                    )
                )
            console.print(f"[bold]{text('stack_up')}[/bold]")
            tasks = [asyncio.create_task(stack.supervise())]
            if demo:
                tasks.append(asyncio.create_task(run_demo(stack, samples, demo_count, console)))
            await stack.stopping.wait()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await stack.stop()
            console.print(text("stopped_all"))

    asyncio.run(run())


@app.command()
def status(
    data_dir: DataDir = Path(".sakspost"),
    as_json: Annotated[bool, typer.Option("--json", help="Skriv ut JSON")] = False,
) -> None:
    """Kor klar er kvar teneste? Avsluttar med 0 berre når alt er klart."""
    results = asyncio.run(
        check_status(data_dir, _settings().model_copy(update={"data_dir": data_dir}))
    )
    if as_json:
        console.print_json(json.dumps([r.__dict__ for r in results]))
    else:
        render_status(results, console)
    all_ready = all(r.ready for r in results)
    console.print(text("all_ready") if all_ready else text("some_not_ready"))
    raise typer.Exit(0 if all_ready else 1)


@app.command()
def inject(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    to: Annotated[str, typer.Option("--to", help="Den offisielle adressa e-posten kom til")],
) -> None:
    """Publiser ei «received»-hending for ein e-post (MIME-en blir lagra først)."""
    settings = _settings()
    org = load_organisation(settings.org_config)
    if org.department_for_address(to) is None:
        errors.print(f"{to} er ikkje ei offisiell adresse i {settings.org_config}")
        raise typer.Exit(2)
    results = asyncio.run(inject_files(settings, org, [(path, to) for path in files]))
    for path, result in zip(files, results, strict=True):
        key = "injected_duplicate" if result.duplicate else "injected"
        console.print(
            text(key, file=path, subject=result.event.nats_subject(), case_id=result.event.case_id)
        )


@app.command("tail")
def tail_command(
    subject: Annotated[str, typer.Argument(help="NATS-subjekt, t.d. sakspost.mail.>")] = MAIL_ALL,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Vis òg eldre hendingar")
    ] = False,
    count: Annotated[int | None, typer.Option(help="Stopp etter så mange hendingar")] = None,
) -> None:
    """Vis hendingar live, éi linje kvar, slik ein integrator ser dei."""
    settings = _settings()

    emit = print_event_line(console)
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(tail(settings, subject, emit, from_start=from_start, stop_after=count))
        except NatsUnavailable as error:
            raise fail(error) from None


@app.command("provision")
def provision_command() -> None:
    """Opprett eller oppdater straumar, KV-bøtter, objektlager og konsumentane til tenestene."""
    settings = _settings()

    layout = full_layout(settings, load_organisation(settings.org_config))

    async def run() -> dict[str, str]:
        connection = await connect_once(settings, "admin", "sakspost-provision")
        try:
            return await provision_when_ready(
                connection.jetstream(), layout, settings.stream_replicas
            )
        finally:
            await connection.close()

    try:
        outcome = asyncio.run(run())
    except (NatsUnavailable, ProvisioningError) as error:
        raise fail(error) from None
    except NatsError as error:  # e.g. a request the admin login may not make times out
        raise fail(f"provision: {type(error).__name__}: {error}") from None
    for part, result in outcome.items():
        console.print(f"{part}: {result}")


BackupDir = Annotated[Path, typer.Argument(help="Mappa til tryggingskopien")]


@app.command("backup")
def backup_command(directory: BackupDir) -> None:
    """Ta tryggingskopi av straumane, KV-bøttene og objektlageret til ei ny mappe (som admin)."""
    settings = _settings()
    layout = full_layout(settings, load_organisation(settings.org_config))
    _backup_or_restore(back_up(settings, layout, directory, _line))


@app.command("restore")
def restore_command(directory: BackupDir) -> None:
    """Gjenopprett ein tryggingskopi til ein tom JetStream (som admin)."""
    _backup_or_restore(restore(_settings(), directory, _line))


def _line(message: str) -> None:
    """One line, never wrapped: it may end up in a job's log, read line by line."""
    console.print(message, markup=False, highlight=False, soft_wrap=True)


def _backup_or_restore(work: Coroutine[object, object, object]) -> None:
    try:
        asyncio.run(work)
    except BackupFailed as failure:
        errors.print(str(failure), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


@schemas_app.command("export")
def schemas_export(
    check: Annotated[bool, typer.Option("--check", help="Berre sjekk; endra ingenting")] = False,
) -> None:
    """Skriv JSON Schema for kvar hending og AsyncAPI-dokumenta til schemas/."""
    settings = _settings()
    if check:
        stale = stale_files(settings)
        if stale:
            errors.print(text("schemas_stale", files=", ".join(str(p) for p in stale)))
            raise typer.Exit(1)
        console.print(text("schemas_current"))
        return
    console.print(text("schemas_written", count=len(write_files(settings))))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
