"""How a command ends when it cannot do its work: the reason in one line on stderr, exit code 1."""

from __future__ import annotations

import typer
from rich.console import Console

_ERRORS = Console(stderr=True)


def fail(reason: object) -> typer.Exit:
    # soft_wrap: one line whatever the terminal's width; no markup: a path may hold brackets.
    _ERRORS.print(str(reason), soft_wrap=True, markup=False, highlight=False)
    return typer.Exit(1)
