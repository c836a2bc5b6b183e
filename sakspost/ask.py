"""Sending a command from the CLI: one request-reply on `sakspost.cmd.<verb>`, carrying the
signed-in actor's token (`login.py`) in the `Authorization` header, to the service that owns the
state (`Verb.answerer`).

The CLI logs in to NATS as `operator`, which may send commands and nothing that changes state:
the answering service decides, by the token, who acts and whether they may. An error reply is
said in the command line's language (nynorsk unless SAKSPOST_LANGUAGE says otherwise) and ends
the command with exit code 1; `--json` prints the reply as it came.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from rich.console import Console

from sakspost.failure import fail
from sakspost.login import LoginError, bearer_token
from schemas.commands import AUTHORIZATION_HEADER, Verb
from services.common.connect import NatsUnavailable, connect_once
from services.common.language import Language, in_language, language_of_the_command_line
from services.common.settings import Settings, SettingsError, load_settings

REQUEST_TIMEOUT_SECONDS = 15.0

console = Console()
errors = Console(stderr=True)

_TEXTS: dict[str, dict[Language, str]] = {
    "no_answer": {
        "nn": "{service} svarar ikkje på {subject} (køyrer Sakspost?)",
        "nb": "{service} svarer ikke på {subject} (kjører Sakspost?)",
        "en": "{service} does not answer on {subject} (is Sakspost running?)",
    },
    "unauthenticated": {
        "nn": "Innlogginga di vart ikkje godteken ({reason}): køyr `sakspost login` på nytt",
        "nb": "Innloggingen din ble ikke godtatt ({reason}): kjør `sakspost login` på nytt",
        "en": "Your sign-in was not accepted ({reason}): run `sakspost login` again",
    },
    "forbidden": {
        "nn": "{actor} har ikkje løyve til dette i {department}",
        "nb": "{actor} har ikke tillatelse til dette i {department}",
        "en": "{actor} may not do this in {department}",
    },
    "unknown_case": {"nn": "Ukjend sak: {case_id}", "nb": "Ukjent sak: {case_id}",
                     "en": "Unknown case: {case_id}"},
    "unknown_staff": {"nn": "Ukjend tilsett: {staff_id}", "nb": "Ukjent ansatt: {staff_id}",
                      "en": "Unknown staff id: {staff_id}"},
    "unknown_department": {"nn": "Ukjend avdeling: {department}",
                           "nb": "Ukjent avdeling: {department}",
                           "en": "Unknown department: {department}"},
    "not_a_member": {
        "nn": "{staff_id} er ikkje medlem av {department} og kan ikkje få sakene der (R8)",
        "nb": "{staff_id} er ikke medlem av {department} og kan ikke få sakene der (R8)",
        "en": "{staff_id} is not a member of {department} and cannot take its cases (R8)",
    },
    "not_classified": {
        "nn": "Saka {case_id} er ikkje klassifisert enno; vent på klassifiseringa",
        "nb": "Saken {case_id} er ikke klassifisert ennå; vent på klassifiseringen",
        "en": "Case {case_id} is not classified yet; wait for the classifier",
    },
    "not_refused": {
        "nn": "Arkivet har ikkje avvist saka {case_id}; ho blir prøvd på nytt av seg sjølv",
        "nb": "Arkivet har ikke avvist saken {case_id}; den blir prøvd på nytt automatisk",
        "en": "The archive has not refused case {case_id}; it is retried on its own",
    },
    "not_archivable": {
        "nn": "Kan ikkje arkivere {case_id}: {message}",
        "nb": "Kan ikke arkivere {case_id}: {message}",
        "en": "Cannot archive {case_id}: {message}",
    },
    "refused": {"nn": "Avvist: {message}", "nb": "Avvist: {message}", "en": "Refused: {message}"},
}  # fmt: skip


def say(key: str, **values: object) -> str:
    return in_language(_TEXTS[key], language_of_the_command_line()).format(**values)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        errors.print(str(error))
        raise typer.Exit(2) from None


async def _request(
    settings: Settings, verb: Verb, payload: dict[str, Any], token: str
) -> dict[str, Any]:
    try:
        connection = await connect_once(settings, "operator", f"sakspost-{verb.value}")
    except NatsUnavailable as error:
        raise fail(error) from None
    try:
        answer = await connection.request(
            verb.subject,
            json.dumps(payload).encode("utf-8"),
            timeout=REQUEST_TIMEOUT_SECONDS,
            headers={AUTHORIZATION_HEADER: f"Bearer {token}"},
        )
    except (NoRespondersError, NatsTimeoutError):
        errors.print(say("no_answer", service=verb.answerer, subject=verb.subject))
        raise typer.Exit(1) from None
    finally:
        await connection.close()
    reply: dict[str, Any] = json.loads(answer.data)
    return reply


def send(verb: Verb, payload: dict[str, Any], as_json: bool = False) -> dict[str, Any]:
    """Send one command as the signed-in actor; print and exit 1 on an error reply (the JSON
    too, with `as_json`)."""
    settings = _settings()
    try:
        token = bearer_token(settings)
    except LoginError as refused:
        raise fail(str(refused)) from None
    reply = asyncio.run(_request(settings, verb, payload, token))
    if as_json:
        console.print_json(json.dumps(reply))
    if not reply.get("ok"):
        error = reply.get("error") or {}
        code, params = str(error.get("code")), dict(error.get("params") or {})
        params.setdefault("message", str(error.get("message", code)))
        try:
            message = say(code, **params)
        except KeyError:
            message = say("refused", message=params["message"])
        errors.print(message, markup=False, highlight=False)
        raise typer.Exit(1)
    return reply
