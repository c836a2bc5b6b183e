"""The router's request-reply commands on FastStream's in-memory broker: every request is
answered, also one that does not validate or that arrives before the router has started."""

from __future__ import annotations

import json

from faststream.nats import TestNatsBroker

from schemas.commands import Verb
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.router.app import build


async def _ask(org: Organisation, verb: Verb, body: bytes) -> dict[str, object]:
    service = build(Settings(), org)
    async with TestNatsBroker(service.broker) as broker:
        reply = await broker.request(body, verb.subject, timeout=5)
        answer = json.loads(reply.body)
    assert isinstance(answer, dict)
    return answer


async def test_an_invalid_request_gets_a_reply_naming_the_field(org: Organisation) -> None:
    answer = await _ask(org, Verb.ASSIGN, b'{"case_id": "c1", "request_id": "r1"}')
    assert answer["ok"] is False
    error = answer["error"]
    assert isinstance(error, dict) and error["code"] == "invalid_request"
    assert "to" in error["message"]
    assert answer["now"] is not None


async def test_a_request_before_the_router_started_is_told_to_wait(org: Organisation) -> None:
    answer = await _ask(org, Verb.LIST, b"{}")
    assert answer["ok"] is False
    error = answer["error"]
    assert isinstance(error, dict) and error["code"] == "busy"
