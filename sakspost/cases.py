"""`sakspost cases`: the supervisors' view of the cases, and their hand on them (R10–R12, R17).

Every subcommand is one request-reply to the router on `sakspost.cmd.<verb>`: the router alone
writes case records, so this command never touches KV. Text is in nynorsk unless SAKSPOST_LANGUAGE
says otherwise; `--json` prints the router's reply as it came.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated, Any

import typer
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from rich.console import Console
from rich.table import Table

from sakspost.failure import fail
from schemas.commands import Verb
from schemas.vocab import MailClass, Status
from services.common.connect import NatsUnavailable, connect_once
from services.common.language import Language, in_language, language_of_the_command_line
from services.common.settings import Settings, SettingsError, load_settings

cases_app = typer.Typer(help="Sakene: liste, vis, tildel, ferdigmeld, klassifiser.")
console = Console()
errors = Console(stderr=True)

REQUEST_TIMEOUT_SECONDS = 15.0

_TEXTS: dict[str, dict[Language, str]] = {
    "no_router": {
        "nn": "Ruteren svarar ikkje på {subject} (køyrer Sakspost?)",
        "nb": "Ruteren svarer ikke på {subject} (kjører Sakspost?)",
        "en": "The router does not answer on {subject} (is Sakspost running?)",
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
    "refused": {"nn": "Ruteren avviste: {message}", "nb": "Ruteren avviste: {message}",
                "en": "The router refused: {message}"},
    "outlook_pending": {
        "nn": "Lagra; Outlook blir oppdatert når Graph svarar igjen",
        "nb": "Lagret; Outlook blir oppdatert når Graph svarer igjen",
        "en": "Saved; Outlook will be updated when Graph answers again",
    },
    "unchanged": {"nn": "Ingen endring", "nb": "Ingen endring", "en": "No change"},
    "no_cases": {"nn": "Ingen saker", "nb": "Ingen saker", "en": "No cases"},
    "headers": {
        "nn": "Sak|Avdeling|Status|Tildelt|Klasse|Frist|Emne",
        "nb": "Sak|Avdeling|Status|Tildelt|Klasse|Frist|Emne",
        "en": "Case|Department|Status|Assignee|Class|Due|Subject",
    },
    "overdue_mark": {"nn": "FORSEINKA", "nb": "FORSINKET", "en": "OVERDUE"},
}  # fmt: skip


def _say(key: str, **values: object) -> str:
    return in_language(_TEXTS[key], language_of_the_command_line()).format(**values)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        errors.print(str(error))
        raise typer.Exit(2) from None


async def _request(settings: Settings, verb: Verb, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        connection = await connect_once(settings, "operator", "sakspost-cases")
    except NatsUnavailable as error:
        raise fail(error) from None
    try:
        answer = await connection.request(
            verb.subject, json.dumps(payload).encode("utf-8"), timeout=REQUEST_TIMEOUT_SECONDS
        )
    except (NoRespondersError, NatsTimeoutError):
        errors.print(_say("no_router", subject=verb.subject))
        raise typer.Exit(1) from None
    finally:
        await connection.close()
    reply: dict[str, Any] = json.loads(answer.data)
    return reply


def _call(verb: Verb, payload: dict[str, Any], as_json: bool) -> dict[str, Any]:
    """Send one command; print and exit 1 on an error reply (the JSON too, with --json)."""
    reply = asyncio.run(_request(_settings(), verb, payload))
    if as_json:
        console.print_json(json.dumps(reply))
    if not reply.get("ok"):
        error = reply.get("error") or {}
        code, params = str(error.get("code")), dict(error.get("params") or {})
        try:
            message = _say(code, **params)
        except KeyError:
            message = _say("refused", message=error.get("message", code))
        errors.print(message)
        raise typer.Exit(1)
    return reply


def _when(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "-"


def _assignee(case: dict[str, Any]) -> str:
    party = case.get("assignee") or {}
    return str(party.get("name") or party.get("id") or "-")


def _print_case(case: dict[str, Any]) -> None:
    console.print(f"[bold]{case['case_id']}[/bold]  {case.get('subject', '')}")
    console.print(
        f"{case['department']} · {case['status']} · {_assignee(case)} · "
        f"{case.get('mail_class') or '-'} · {_when(case.get('due_at'))}"
        + (f" · [red]{_say('overdue_mark')}[/red]" if case.get("overdue") else "")
    )
    for entry in case.get("history", []):
        console.print(
            f"  {_when(entry['at'])}  {entry['who']:<22} {entry['what']:<14} {entry['why']}"
        )


def _print_changed(reply: dict[str, Any]) -> None:
    if reply.get("case"):
        _print_case(reply["case"])
    if not reply.get("changed"):
        console.print(_say("unchanged"))
    if reply.get("outlook_pending"):
        console.print(_say("outlook_pending"))


JsonOption = Annotated[bool, typer.Option("--json", help="Skriv svaret som JSON")]


@cases_app.command("list")
def list_cases(
    department: Annotated[str | None, typer.Option("--department", help="Avdeling")] = None,
    status: Annotated[
        Status | None, typer.Option("--status", help="ny, tildelt eller ferdig")
    ] = None,
    assignee: Annotated[str | None, typer.Option("--assignee", help="Tilsett-id")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Berre saker over fristen")] = False,
    as_json: JsonOption = False,
) -> None:
    """Lista sakene, tidlegaste frist først."""
    payload = {
        "department": department,
        "status": status.value if status else None,
        "assignee": assignee,
        "overdue": overdue,
    }
    reply = _call(Verb.LIST, payload, as_json)
    if as_json:
        return
    cases = reply.get("cases", [])
    if not cases:
        console.print(_say("no_cases"))
        return
    table = Table(*_say("headers").split("|"))
    for case in cases:
        due = _when(case.get("due_at")) + (" !" if case.get("overdue") else "")
        table.add_row(
            case["case_id"], case["department"], case["status"], _assignee(case),
            case.get("mail_class") or "-", due, (case.get("subject") or "")[:40],
        )  # fmt: skip
    console.print(table)


@cases_app.command("show")
def show_case(
    case: Annotated[str, typer.Argument(help="Saks-id")], as_json: JsonOption = False
) -> None:
    """Vis ei sak med heile historia."""
    reply = _call(Verb.SHOW, {"case_id": case}, as_json)
    if not as_json:
        _print_case(reply["case"])


@cases_app.command("assign")
def assign_case(
    case: Annotated[str, typer.Argument(help="Saks-id")],
    to: Annotated[str, typer.Option("--to", help="Tilsett-id til den som skal ha saka")],
    by: Annotated[str | None, typer.Option("--by", help="Tilsett-id til deg")] = None,
    as_json: JsonOption = False,
) -> None:
    """Tildel saka til ein annan saksbehandlar (R11)."""
    payload = {"request_id": uuid.uuid4().hex, "case_id": case, "to": to, "by": by}
    reply = _call(Verb.ASSIGN, payload, as_json)
    if not as_json:
        _print_changed(reply)


@cases_app.command("done")
def done_case(
    case: Annotated[str, typer.Argument(help="Saks-id")],
    by: Annotated[str, typer.Option("--by", help="Tilsett-id til den som gjorde saka ferdig")],
    as_json: JsonOption = False,
) -> None:
    """Set saka til Ferdig (R12)."""
    payload = {"request_id": uuid.uuid4().hex, "case_id": case, "by": by}
    reply = _call(Verb.DONE, payload, as_json)
    if not as_json:
        _print_changed(reply)


@cases_app.command("classify")
def classify_case(
    case: Annotated[str, typer.Argument(help="Saks-id")],
    mail_class: Annotated[
        MailClass, typer.Option("--as", help="arkivverdig, offisiell eller privat")
    ],
    by: Annotated[str, typer.Option("--by", help="Tilsett-id til deg")],
    as_json: JsonOption = False,
) -> None:
    """Rett klassen på saka (R17); tilsynet får melding."""
    payload = {
        "request_id": uuid.uuid4().hex,
        "case_id": case,
        "mail_class": mail_class.value,
        "by": by,
    }
    reply = _call(Verb.CLASSIFY, payload, as_json)
    if not as_json:
        _print_changed(reply)
