"""The token the CLI's commands carry (issue 19): who runs them, proven by Entra ID.

`bearer_token()` is what `sakspost cases …` and `sakspost personal opt-in|opt-out` send in their
`Authorization` header. Here: a token obtained elsewhere, given in SAKSPOST_TOKEN (the service
still verifies it); without one the command stops and says how to sign in.
"""

from __future__ import annotations

import os

from sakspost.failure import fail
from services.common.language import Language, in_language, language_of_the_command_line

TOKEN_VARIABLE = "SAKSPOST_TOKEN"  # noqa: S105 (the variable's name, not a token)

_NOT_SIGNED_IN: dict[Language, str] = {
    "nn": "Du er ikkje logga inn: køyr `sakspost login` (eller set {variable})",
    "nb": "Du er ikke logget inn: kjør `sakspost login` (eller sett {variable})",
    "en": "You are not signed in: run `sakspost login` (or set {variable})",
}


def bearer_token() -> str:
    """The signed-in person's or operator's token; exits 1 when there is none."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        message = in_language(_NOT_SIGNED_IN, language_of_the_command_line())
        raise fail(message.format(variable=TOKEN_VARIABLE))
    return token
