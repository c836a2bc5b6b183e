"""What a person does on the pages, as commands to the service that owns the state (issue 19).

Each action is a NATS request to the owner's command subject with the header `Authorization:
Bearer <the person's ID token>`; the owner verifies the token, decides whether the person may
(`rights.py`) and records them. The overview decides nothing: it only hides the buttons
`rights.may` would refuse. The body never names the actor.

Each form carries a `request_id` made when the page was drawn, so pressing twice (or a reload
that repeats the POST) applies once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from schemas.commands import Verb
from schemas.vocab import AlertKind, MailClass
from services.common.bearer import HEADER, SCHEME
from services.common.rights import Action

REQUEST_TIMEOUT_SECONDS = 30.0


# The right each case action needs (`rights.may`): a button the person may not use is not shown.
RIGHTS: Mapping[Verb, Action] = {
    Verb.ASSIGN: Action.ASSIGN,
    Verb.DONE: Action.DONE,
    Verb.CLASSIFY: Action.CLASSIFY,
    Verb.CONFIRM_PRIVATE: Action.CONFIRM_PRIVATE,
    Verb.RETRY_ARCHIVE: Action.RETRY_ARCHIVE,
    Verb.ARCHIVE_REPLY: Action.ARCHIVE_REPLY,
}
CASE_VERBS = tuple(RIGHTS)
# What the alerts list offers to do about an alert: websak's refusal is retried, and a reply a
# shared mailbox sent from Outlook (whose id the alert names; it has no case page) is archived.
ALERT_VERBS: Mapping[AlertKind, Verb] = {
    AlertKind.ARCHIVE_FAILED: Verb.RETRY_ARCHIVE,
    AlertKind.REPLY_NOT_FROM_WEBSAK: Verb.ARCHIVE_REPLY,
}


class BadForm(ValueError):
    """A form the page never draws (a missing or unknown field)."""


def case_request(verb: Verb, case_id: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The body of a case command from its form; raises `BadForm`."""
    request_id = form.get("request_id", "")
    if not 8 <= len(request_id) <= 64:
        raise BadForm("request_id")
    body: dict[str, Any] = {"request_id": request_id, "case_id": case_id}
    if verb is Verb.ASSIGN:
        if not form.get("to"):
            raise BadForm("to")
        body["to"] = form["to"]
    elif verb is Verb.CLASSIFY:
        try:
            body["mail_class"] = MailClass(form.get("mail_class", "")).value
        except ValueError:
            raise BadForm("mail_class") from None
    return body


@dataclass(frozen=True)
class Outcome:
    """A command's answer: ok (`changed` when it changed anything), or an error `code`."""

    ok: bool
    code: str | None = None
    changed: bool = True

    @property
    def result(self) -> str:
        """What the page says: `ok`, `unchanged`, or the error code (`texts.py` words each)."""
        if self.ok:
            return "ok" if self.changed else "unchanged"
        return self.code or "internal"


def outcome_of(reply: Mapping[str, Any]) -> Outcome:
    if reply.get("ok", False):
        return Outcome(True, changed=bool(reply.get("changed", True)))
    error = reply.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return Outcome(False, str(code or "internal"))


async def send(client: Client, verb: Verb, body: Mapping[str, Any], id_token: str) -> Outcome:
    """Ask the owning service; `unavailable` when none answers."""
    try:
        answer = await client.request(
            verb.subject,
            json.dumps(body).encode(),
            timeout=REQUEST_TIMEOUT_SECONDS,
            headers={HEADER: f"{SCHEME} {id_token}"},
        )
    except (NoRespondersError, NatsTimeoutError):
        return Outcome(False, "unavailable")
    try:
        reply = json.loads(answer.data)
    except ValueError:
        return Outcome(False, "internal")
    return outcome_of(reply if isinstance(reply, dict) else {})
