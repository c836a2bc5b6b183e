"""The public contract as a FastStream broker: every subject an integrator may use, declared once.

`sakspost.json` is generated from this broker, never connected. It declares what Sakspost sends
(events, alerts, notices) as publishers and the router's request-reply commands as subscribers,
and nothing internal (durable consumers, work streams); `undeclared_channels` keeps the
services' own documents within it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from faststream.nats import NatsBroker

from schemas.asyncapi import complete, faststream_document
from schemas.commands import COMMANDS, command_description
from schemas.events import MAIL_EVENT_MODELS, Alert, CaseViewed, ContractModel, NoticeSent
from schemas.subjects import PREFIX

TITLE = "Sakspost events"
DESCRIPTION = (
    "The public event contract of Sakspost: subscribe to these subjects on NATS JetStream "
    "(stream SAKSPOST). Payloads carry schema_version, event_id (also the Nats-Msg-Id), "
    "case_id, occurred_at and department. Commands are NATS request-reply to the router."
)


def contract_broker() -> NatsBroker:
    broker = NatsBroker()
    for event, model in MAIL_EVENT_MODELS.items():
        broker.publisher(
            f"{PREFIX}.mail.{event.value}.{{department}}",
            schema=model,
            title=f"mail.{event.value}",
            description=_first_line(model),
        )
    broker.publisher(
        f"{PREFIX}.alert.{{kind}}.{{department}}",
        schema=Alert,
        title="alert",
        description=_first_line(Alert),
    )
    broker.publisher(
        f"{PREFIX}.notice.sent.{{department}}",
        schema=NoticeSent,
        title="notice.sent",
        description=_first_line(NoticeSent),
    )
    broker.publisher(
        f"{PREFIX}.audit.case_viewed.{{department}}",
        schema=CaseViewed,
        title="audit.case_viewed",
        description=_first_line(CaseViewed),
    )
    for verb, (request, reply) in COMMANDS.items():
        broker.subscriber(
            verb.subject,
            queue=verb.answerer,
            title=f"cmd.{verb.value}",
            description=command_description(verb, request, reply),
        )(_command_handler(request))
    return broker


def contract_document() -> dict[str, Any]:
    """The whole public contract (`schemas/asyncapi/sakspost.json`)."""
    return complete(faststream_document(contract_broker(), title=TITLE, description=DESCRIPTION))


def undeclared_channels(service: dict[str, Any], contract: dict[str, Any]) -> list[str]:
    """Addresses a service's document sends on that no send address of the contract covers.

    A contract placeholder covers any one token, so `sakspost.alert.{kind}.{department}` covers a
    service's `sakspost.alert.overdue.{department}`. A service publishing outside the contract
    would surprise integrators; a test over every service's document keeps the two in step.
    """
    declared = [
        _address(contract, operation).split(".")
        for operation in contract["operations"].values()
        if operation["action"] == "send"
    ]
    sent = {
        _address(service, operation)
        for operation in service["operations"].values()
        if operation["action"] == "send"
    }
    return sorted(address for address in sent if not any(_covers(t, address) for t in declared))


def _covers(contract_tokens: list[str], address: str) -> bool:
    tokens = address.split(".")
    if len(tokens) != len(contract_tokens):
        return False
    pairs = zip(tokens, contract_tokens, strict=True)
    return all(mine == theirs or theirs.startswith("{") for mine, theirs in pairs)


def _address(document: dict[str, Any], operation: dict[str, Any]) -> str:
    key = unquote(operation["channel"]["$ref"].removeprefix("#/channels/"))
    return str(document["channels"][key]["address"])


def _command_handler(request: type[ContractModel]) -> Callable[[Any], Awaitable[None]]:
    """A handler whose parameter is typed `request`: FastStream takes the payload from it."""

    async def handle(body: Any) -> None:
        raise NotImplementedError("the contract broker only describes; the router answers")

    handle.__annotations__ = {"body": request, "return": None}
    return handle


def _first_line(model: type[ContractModel]) -> str:
    return (model.__doc__ or model.__name__).strip().splitlines()[0]
