"""`sakspost login`, `sakspost logout` and `sakspost whoami` (the logic is in `login.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from sakspost.login import (
    Identity,
    LoginError,
    SakspostApp,
    cache_path,
    device_login,
    identity_of,
    logout,
    sakspost_app,
    whoami,
)
from sakspost.texts import text
from services.common.settings import Settings, SettingsError, load_settings

console = Console()
errors = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        errors.print(f"[red]{error}[/red]", markup=True)
        raise typer.Exit(2) from None


def _refuse(error: LoginError) -> typer.Exit:
    errors.print(str(error), markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _said(who: Identity) -> str:
    return f"{who.name} <{who.email}>" if who.email else text("whoami_app", app=who.name)


def _approver(app: SakspostApp, email: str) -> Callable[[str, str], None]:
    """What `--as` does instead of waiting for a person: approve the code on the emulator's
    page as `email`."""
    try:
        from devtools.graph_emulator.device_approval import ApprovalRefused, approve_device_code
    except ImportError:
        errors.print(text("login_as_unavailable"))
        raise typer.Exit(2) from None

    def approve(uri: str, code: str) -> None:
        try:
            approve_device_code(uri, code, email, app.ca_file)
        except ApprovalRefused as refused:
            raise LoginError(text("login_failed", reason=refused)) from None

    return approve


def login_command(
    as_address: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Berre mot Graph-emulatoren: godkjenn innlogginga sjølv, som personen med "
            "denne adressa (testar og demo)",
        ),
    ] = None,
) -> None:
    """Logg inn i Sakspost med Entra ID: opne adressa, skriv inn koden, vel kontoen din."""
    settings = _settings()
    if settings.operator_client_id is not None:
        console.print(text("login_operator"))
    try:
        app = sakspost_app(settings)

        def show(uri: str, code: str) -> None:
            console.print(
                text("login_open", uri=uri, code=code),
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

        token = device_login(
            app, cache_path(), _approver(app, as_address) if as_address is not None else show
        )
    except LoginError as error:
        raise _refuse(error) from None
    console.print(
        text("login_done", who=_said(identity_of(token))),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def logout_command() -> None:
    """Logg ut: gløym tokena til den som er innlogga på denne maskina."""
    console.print(text("logout_done" if logout(cache_path()) else "logout_none"))


def whoami_command() -> None:
    """Vis kven kommandoane går som (den innlogga personen eller operatørapplikasjonen)."""
    try:
        who = whoami(_settings())
    except LoginError as error:
        raise _refuse(error) from None
    console.print(_said(who), markup=False, highlight=False, soft_wrap=True)
