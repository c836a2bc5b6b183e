"""`sakspost cases`: the supervisors' view of the cases, and their hand on them (R10–R12, R14,
R17).

Every subcommand is one command (`ask.py`) as the signed-in person or operator: to the router,
which alone writes case records, or to websak for the archive's receipts. This command never
touches KV, and names no actor: the service takes it from the token. Text is in nynorsk unless
SAKSPOST_LANGUAGE says otherwise; `--json` prints the reply as it came.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sakspost.ask import send
from schemas.commands import Verb
from schemas.vocab import MailClass, Status
from services.common.language import Language, in_language, language_of_the_command_line

cases_app = typer.Typer(
    help="Sakene: liste, vis, tildel, ferdigmeld, klassifiser, stadfest privat, arkiver."
)
console = Console()

_TEXTS: dict[str, dict[Language, str]] = {
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
    "archived": {
        "nn": "{case_id}: {outcome}, journalpost {journalpost_id} ({registry_number}) i sak "
              "{archive_case_id}",
        "nb": "{case_id}: {outcome}, journalpost {journalpost_id} ({registry_number}) i sak "
              "{archive_case_id}",
        "en": "{case_id}: {outcome} as journalpost {journalpost_id} ({registry_number}) in case "
              "{archive_case_id}",
    },
}  # fmt: skip


def _say(key: str, **values: object) -> str:
    return in_language(_TEXTS[key], language_of_the_command_line()).format(**values)


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
    reply = send(Verb.LIST, payload, as_json)
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
    reply = send(Verb.SHOW, {"case_id": case}, as_json)
    if not as_json:
        _print_case(reply["case"])


@cases_app.command("assign")
def assign_case(
    case: Annotated[str, typer.Argument(help="Saks-id")],
    to: Annotated[str, typer.Option("--to", help="Tilsett-id til den som skal ha saka")],
    as_json: JsonOption = False,
) -> None:
    """Tildel saka til ein annan saksbehandlar (R11)."""
    payload = {"request_id": uuid.uuid4().hex, "case_id": case, "to": to}
    reply = send(Verb.ASSIGN, payload, as_json)
    if not as_json:
        _print_changed(reply)


@cases_app.command("done")
def done_case(
    case: Annotated[str, typer.Argument(help="Saks-id")], as_json: JsonOption = False
) -> None:
    """Set saka til Ferdig (R12)."""
    payload = {"request_id": uuid.uuid4().hex, "case_id": case}
    reply = send(Verb.DONE, payload, as_json)
    if not as_json:
        _print_changed(reply)


@cases_app.command("classify")
def classify_case(
    case: Annotated[str, typer.Argument(help="Saks-id")],
    mail_class: Annotated[
        MailClass, typer.Option("--as", help="arkivverdig, offisiell eller privat")
    ],
    as_json: JsonOption = False,
) -> None:
    """Rett klassen på saka (R17); tilsynet får melding. Avvis ein privat-dom med denne."""
    payload = {"request_id": uuid.uuid4().hex, "case_id": case, "mail_class": mail_class.value}
    reply = send(Verb.CLASSIFY, payload, as_json)
    if not as_json:
        _print_changed(reply)


@cases_app.command("confirm-private")
def confirm_private(
    case: Annotated[str, typer.Argument(help="Saks-id")], as_json: JsonOption = False
) -> None:
    """Stadfest at saka er privat (R9d): ho blir Ferdig. Berre for leiarar."""
    reply = send(Verb.CONFIRM_PRIVATE, {"request_id": uuid.uuid4().hex, "case_id": case}, as_json)
    if not as_json:
        _print_changed(reply)


def _print_archived(reply: dict[str, Any]) -> None:
    console.print(
        _say("archived", **{k: reply.get(k) or "-" for k in (
            "case_id", "outcome", "journalpost_id", "registry_number", "archive_case_id"
        )})
    )  # fmt: skip


@cases_app.command("retry-archive")
def retry_archive(
    cases: Annotated[list[str], typer.Argument(help="Saks-id-ar arkivet avviste")],
    as_json: JsonOption = False,
) -> None:
    """Arkiver saker på nytt som WebSak avviste, når grunnen er retta (websak svarar)."""
    for case in cases:
        reply = send(Verb.RETRY_ARCHIVE, {"request_id": uuid.uuid4().hex, "case_id": case}, as_json)
        if not as_json:
            _print_archived(reply)


@cases_app.command("archive-reply")
def archive_reply(
    case: Annotated[str, typer.Argument(help="Saks-id-en til den sende e-posten (frå varselet)")],
    as_json: JsonOption = False,
) -> None:
    """Arkiver eit svar ein felles postkasse sende, som utgåande journalpost (R14)."""
    reply = send(Verb.ARCHIVE_REPLY, {"request_id": uuid.uuid4().hex, "case_id": case}, as_json)
    if not as_json:
        _print_archived(reply)
